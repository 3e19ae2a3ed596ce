"""AdaptSeg's output-space discriminators (Tsai et al., CVPR 2018), as ADVENT's code builds them
(`get_fc_discriminator`): fully convolutional on a head's softmax, 4x4 convolutions of stride 2
with ndf, 2 ndf, 4 ndf, 8 ndf channels and leaky ReLU 0.2, then one channel of logits, domain
source (0) or target (1) per cell of a 1/32 grid."""
from mindspore import nn


def fc_discriminator(num_classes, ndf=64):
    layers = []
    for width_in, width_out in zip((num_classes, ndf, ndf * 2, ndf * 4), (ndf, ndf * 2, ndf * 4,
                                                                          ndf * 8)):
        layers += [nn.Conv2d(width_in, width_out, 4, 2, pad_mode='pad', padding=1, has_bias=True),
                   nn.LeakyReLU(0.2)]
    layers.append(nn.Conv2d(ndf * 8, 1, 4, 2, pad_mode='pad', padding=1, has_bias=True))
    return nn.SequentialCell(layers)


class Discriminators(nn.Cell):
    """A discriminator per head of the segmenter, the cells `aux` and `main` (`levels`: both,
    or ('main',) for a net of one head); the loss calls them by level."""

    def __init__(self, num_classes, levels):
        super().__init__()
        self.levels = tuple(levels)
        for level in self.levels:
            setattr(self, level, fc_discriminator(num_classes))
