"""A PyTorch DeepLab-v2 written independently of net/deeplabv2_mindspore.py (ADVENT's ResNetMulti with
the released layer rules), the reference of the PyTorch comparison (bench/vs_pytorch.py) and
of the conversion parity test (tests/test_convert.py). Parameter names are PyTorch's, which
weights/convert.py renames to ours."""
import torch
from torch import nn


class TorchBottleneck(nn.Module):
    def __init__(self, inplanes, planes, stride, dilation, downsample):
        super().__init__()
        # Caffe DeepLab: the stride is on the first 1x1 conv, not on the 3x3.
        self.conv1 = nn.Conv2d(inplanes, planes, 1, stride=stride, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = downsample

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        residual = x if self.downsample is None else self.downsample(x)
        return torch.relu(out + residual)


class TorchASPP(nn.Module):
    def __init__(self, inplanes, num_classes):
        super().__init__()
        self.conv2d_list = nn.ModuleList(
            nn.Conv2d(inplanes, num_classes, 3, padding=d, dilation=d, bias=True)
            for d in (6, 12, 18, 24))

    def forward(self, x):
        return sum(conv(x) for conv in self.conv2d_list)


class TorchDeepLabV2(nn.Module):
    def __init__(self, num_classes=19, blocks=(3, 4, 23, 3), width=64):
        super().__init__()
        self.inplanes = width
        self.conv1 = nn.Conv2d(3, width, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True)
        self.layer1 = self._make_layer(width, blocks[0], 1, 1)
        self.layer2 = self._make_layer(width * 2, blocks[1], 2, 1)
        self.layer3 = self._make_layer(width * 4, blocks[2], 1, 2)
        self.layer4 = self._make_layer(width * 8, blocks[3], 1, 4)
        self.layer5 = TorchASPP(width * 16, num_classes)
        self.layer6 = TorchASPP(width * 32, num_classes)
        for module in self.modules():  # the BN affine is never trained (released net)
            if isinstance(module, nn.BatchNorm2d):
                module.weight.requires_grad_(False)
                module.bias.requires_grad_(False)

    def _make_layer(self, planes, num_blocks, stride, dilation):
        downsample = nn.Sequential(
            nn.Conv2d(self.inplanes, planes * 4, 1, stride=stride, bias=False),
            nn.BatchNorm2d(planes * 4))
        layers = [TorchBottleneck(self.inplanes, planes, stride, dilation, downsample)]
        self.inplanes = planes * 4
        layers += [TorchBottleneck(self.inplanes, planes, 1, dilation, None)
                   for _ in range(1, num_blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        x3 = self.layer3(self.layer2(self.layer1(x)))
        return self.layer5(x3), self.layer6(self.layer4(x3))


class TorchSegFormer(nn.Module):
    """transformers' SegformerForSemanticSegmentation shaped as a MODEL.ARCH of
    net/segformer_mindspore.py (random weights), returning (None, logits) as ours does: the
    reference of the MiT cases of bench/stages.py. `decode_head` is its heads' module."""

    def __init__(self, arch, num_classes=19):
        super().__init__()
        from transformers import SegformerConfig, SegformerForSemanticSegmentation

        from net.segformer_mindspore import NUM_HEADS, SR_RATIOS, VARIANTS
        widths, depths, head = VARIANTS[arch]
        self.model = SegformerForSemanticSegmentation(SegformerConfig(
            num_labels=num_classes, hidden_sizes=list(widths), depths=list(depths),
            decoder_hidden_size=head, num_attention_heads=list(NUM_HEADS),
            sr_ratios=list(SR_RATIOS)))
        self.decode_head = self.model.decode_head

    def forward(self, x):
        return None, self.model(pixel_values=x).logits
