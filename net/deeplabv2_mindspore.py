"""DeepLab-v2 with a ResNet-101 backbone and two ASPP heads (multi-level), as in DDM/ADVENT.

Parameter names match the released DDM MindSpore checkpoints (`conv1.weight`,
`layer3.7.bn2.moving_mean`, `layer6.conv2d_list.2.bias`, ...), so those checkpoints load with
nothing missing and nothing left over. `blocks` and `width` shrink the net for tests without
changing any name.
"""
import mindspore as ms
from mindspore import nn, ops
from mindspore.common.initializer import Normal, Zero

from net.segformer_mindspore import build_segformer
from utils.device import device_default


ASPP_DILATIONS = (6, 12, 18, 24)


def batch_norm(channels, freeze_bn):
    # Scale and shift are never trained (released net); `freeze_bn` also freezes the running
    # statistics: use_batch_statistics=None means batch statistics in train mode and running
    # statistics in eval mode, False means running statistics always. PyTorch momentum 0.1 is
    # MindSpore momentum 0.9.
    bn = nn.BatchNorm2d(channels, momentum=0.9, eps=1e-5,
                        use_batch_statistics=False if freeze_bn else None)
    bn.gamma.requires_grad = False
    bn.beta.requires_grad = False
    return bn


def conv(in_channels, out_channels, kernel_size, stride=1, dilation=1, has_bias=False):
    padding = dilation * (kernel_size // 2)
    return nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, pad_mode='pad',
                     padding=padding, dilation=dilation, has_bias=has_bias)


class Bottleneck(nn.Cell):
    """ResNet bottleneck as in Caffe DeepLab: the stride sits on the first 1x1 conv."""
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, dilation=1, downsample=None,
                 freeze_bn=False):
        super().__init__()
        self.conv1 = conv(inplanes, planes, 1, stride=stride)
        self.bn1 = batch_norm(planes, freeze_bn)
        self.conv2 = conv(planes, planes, 3, dilation=dilation)
        self.bn2 = batch_norm(planes, freeze_bn)
        self.conv3 = conv(planes, planes * 4, 1)
        self.bn3 = batch_norm(planes * 4, freeze_bn)
        self.relu = nn.ReLU()
        self.downsample = downsample

    def construct(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        residual = x if self.downsample is None else self.downsample(x)
        return self.relu(out + residual)


class ClassifierModule(nn.Cell):
    """ASPP head of DeepLab-v2: the *sum* of four dilated 3x3 convs (not a concatenation).

    `fused=True` computes the same sum as one matrix product and four folds: every tap of
    every branch is a 1x1 conv, so W_all @ x gives all 4 x 9 x num_classes tap maps at once,
    and `ops.fold` adds each branch's nine maps at their dilated offsets. MindSpore's CPU
    convolution runs these 19-channel, dilation-24 convs through im2col with a scratch buffer
    of 9 x 2048 x H x W floats kept per kernel; the fused form needs none and is 6x faster
    (docs/PERFORMANCE.md). The parameters are the four convs' own, so checkpoints are
    unchanged.
    """

    def __init__(self, in_channels, num_classes, dilations=ASPP_DILATIONS, fused=False):
        super().__init__()
        self.dilations = tuple(dilations)
        self.num_classes = num_classes
        self.fused = fused
        self.conv2d_list = nn.CellList([
            nn.Conv2d(in_channels, num_classes, 3, pad_mode='pad', padding=d, dilation=d,
                      has_bias=True, weight_init=Normal(0.01), bias_init=Zero())
            for d in dilations])

    def construct(self, x):
        if self.fused:
            return self.fused_sum(x)
        out = self.conv2d_list[0](x)
        for branch in self.conv2d_list[1:]:
            out = out + branch(x)
        return out

    def fused_sum(self, x):
        n, c, h, w = x.shape
        k = self.num_classes * 9
        # fold writes tap (i, j) of a column block at offset -((i - 1) d, (j - 1) d); the conv
        # reads it at +((i - 1) d, (j - 1) d): flipping the kernel turns one into the other.
        # Rows in fold's order: (class, tap).
        taps = ops.concat([ops.flip(branch.weight, (2, 3)).reshape(self.num_classes, c, 9)
                           .transpose(0, 2, 1).reshape(k, c) for branch in self.conv2d_list])
        # Under mixed precision x arrives in float16 and the weights stay float32.
        columns = ops.matmul(taps.astype(x.dtype), x.reshape(n, c, h * w))          # (n, 4 * k, h * w)
        size = ms.Tensor((h, w), ms.int32)
        out = None
        for i, d in enumerate(self.dilations):
            part = ops.fold(columns[:, i * k:(i + 1) * k], size, 3, dilation=d, padding=d)
            out = part if out is None else out + part
        bias = sum(branch.bias for branch in self.conv2d_list)
        return out + bias.astype(out.dtype).reshape(1, -1, 1, 1)


class DeepLabV2(nn.Cell):
    """Returns (aux, main) logits at 1/8 of the input resolution (aux from layer3)."""

    def __init__(self, num_classes=19, blocks=(3, 4, 23, 3), width=64, freeze_bn=False,
                 multi_level=True, fused_aspp=False):
        super().__init__()
        self.multi_level = multi_level
        self.freeze_bn = freeze_bn
        self.inplanes = width
        self.conv1 = conv(3, width, 7, stride=2)
        self.bn1 = batch_norm(width, freeze_bn)
        self.relu = nn.ReLU()
        # ADVENT's max-pool: 3x3, stride 2, padding 1, ceil_mode (65x129 logits for 512x1024).
        self.maxpool = nn.MaxPool2d(3, 2, pad_mode='pad', padding=1, ceil_mode=True)
        self.layer1 = self._make_layer(width, blocks[0])
        self.layer2 = self._make_layer(width * 2, blocks[1], stride=2)
        self.layer3 = self._make_layer(width * 4, blocks[2], dilation=2)
        self.layer4 = self._make_layer(width * 8, blocks[3], dilation=4)
        if multi_level:
            self.layer5 = ClassifierModule(width * 16, num_classes, fused=fused_aspp)
        self.layer6 = ClassifierModule(width * 32, num_classes, fused=fused_aspp)

    def _make_layer(self, planes, num_blocks, stride=1, dilation=1):
        # Every layer's first block has a downsample branch: layer1 changes the channel count,
        # layer2 the stride, layers 3 and 4 the dilation (the released net's rule).
        downsample = nn.SequentialCell([conv(self.inplanes, planes * 4, 1, stride=stride),
                                        batch_norm(planes * 4, self.freeze_bn)])
        layers = [Bottleneck(self.inplanes, planes, stride, dilation, downsample, self.freeze_bn)]
        self.inplanes = planes * 4
        layers += [Bottleneck(self.inplanes, planes, dilation=dilation, freeze_bn=self.freeze_bn)
                   for _ in range(1, num_blocks)]
        return nn.SequentialCell(layers)

    def construct(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer2(self.layer1(x))
        x3 = self.layer3(x)
        main = self.layer6(self.layer4(x3))
        if self.multi_level:
            return self.layer5(x3), main
        return main, main

    def head_params(self):
        """The ASPP heads, trained at 10x the backbone learning rate."""
        heads = [self.layer6] + ([self.layer5] if self.multi_level else [])
        return [p for head in heads for p in head.trainable_params()]

    def backbone_params(self):
        head_ids = {id(p) for p in self.head_params()}
        return [p for p in self.trainable_params() if id(p) not in head_ids]


def get_deeplab_v2(num_classes=19, multi_level=True, freeze_bn_affine=True):
    """The released entry point: the full DeepLab-v2 (ResNet-101) whose parameters load the
    released checkpoints. BatchNorm's scale and shift are never trained here, as released."""
    if not freeze_bn_affine:
        raise ValueError('freeze_bn_affine=False: this DeepLab-v2 never trains BatchNorm scale '
                         'and shift (the released net does not either)')
    return DeepLabV2(num_classes=num_classes, multi_level=multi_level)


def build_model(cfg, num_classes=None):
    """The network of cfg.MODEL.ARCH: the DeepLab-v2 described by `cfg.MODEL` and
    `cfg.TRAIN.FREEZE_BN`, or a SegFormer (net/segformer_mindspore.py)."""
    if cfg.MODEL.ARCH != 'deeplabv2':
        return build_segformer(cfg, num_classes)
    return DeepLabV2(num_classes=num_classes or cfg.NUM_CLASSES, blocks=tuple(cfg.MODEL.BLOCKS),
                     width=cfg.MODEL.WIDTH, freeze_bn=cfg.TRAIN.FREEZE_BN,
                     multi_level=cfg.MODEL.MULTI_LEVEL, fused_aspp=fused_aspp(cfg))


def fused_aspp(cfg):
    """MODEL.FUSED_ASPP: auto = the fused heads on CPU, where they are 6x faster and need no
    im2col buffers, and MindSpore's own convolutions on Ascend and GPU."""
    return device_default(cfg, 'MODEL.FUSED_ASPP') == 'on'


def count_values(net):
    """(number of tensors, number of values) in the net's checkpoint."""
    params = list(net.parameters_and_names())
    return len(params), sum(p.size for _, p in params)


def upsample(logits, size_hw):
    """Bilinear upsampling of logits to a label's size (align_corners=True, as released)."""
    return ops.interpolate(logits, size=size_hw, mode='bilinear', align_corners=True)
