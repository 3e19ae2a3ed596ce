"""SegFormer (Xie et al., NeurIPS 2021): the Mix Transformer encoder, MiT-B0 ... B5, and the
all-MLP decode head, the transformer DAFormer adapts with.

Parameter names are the original's (NVlabs SegFormer / mmsegmentation, the names of DAFormer's
`pretrained/mit_b5.pth`) under `backbone.` and `decode_head.`, with MindSpore's leaf names
(LayerNorm and BatchNorm `gamma`/`beta`, `moving_mean`/`moving_variance`): `weights/convert.py`
reads those checkpoints and `transformers`' SegFormer. The net returns (None, logits): it has
one head, at 1/4 of the input size, and no aux head (net/loss.py: aux_term).

The input is what every stage feeds a DeepLab-v2, BGR minus `pixel_mean` (cfg.TRAIN.IMG_MEAN);
the net turns it into what MiT's ImageNet weights were trained on, RGB normalised by ImageNet's
mean and std, as its first operation.
"""
import math

import mindspore as ms
from mindspore import nn, ops
from mindspore.common.initializer import HeNormal, Normal, TruncatedNormal, Zero

# (stage widths, blocks per stage, decode head width) of each variant (the original's mit_b0 ...
# mit_b5 and SegFormer's heads); `mit_tiny` is B0's layout at half width with one block a
# stage, for the tests and the CPU demo.
VARIANTS = {
    'mit_b0': ((32, 64, 160, 256), (2, 2, 2, 2), 256),
    'mit_b1': ((64, 128, 320, 512), (2, 2, 2, 2), 256),
    'mit_b2': ((64, 128, 320, 512), (3, 4, 6, 3), 768),
    'mit_b3': ((64, 128, 320, 512), (3, 4, 18, 3), 768),
    'mit_b4': ((64, 128, 320, 512), (3, 8, 27, 3), 768),
    'mit_b5': ((64, 128, 320, 512), (3, 6, 40, 3), 768),
    'mit_tiny': ((16, 32, 80, 128), (1, 1, 1, 1), 64),
}
NUM_HEADS = (1, 2, 5, 8)
SR_RATIOS = (8, 4, 2, 1)        # keys and values of stage i on a grid SR_RATIOS[i] times coarser
MLP_RATIO = 4
DROP_PATH_RATE = 0.1            # stochastic depth, rising linearly to this over all blocks
HEAD_DROPOUT = 0.1              # channel dropout before the classifier (mmsegmentation's)
BLOCK_EPS = 1e-6                # the original's LayerNorm in the blocks and after each stage;
                                # the patch embeddings' and the reductions' keep the default 1e-5
IMAGENET_MEAN_RGB = (123.675, 116.28, 103.53)
IMAGENET_STD_RGB = (58.395, 57.12, 57.375)


def layer_norm(channels, eps=1e-5):
    return nn.LayerNorm((channels,), epsilon=eps)


def dense(in_channels, out_channels):
    return nn.Dense(in_channels, out_channels, weight_init=TruncatedNormal(0.02),
                    bias_init=Zero())


def conv(in_channels, out_channels, kernel_size, stride=1, padding=0, group=1):
    # The original's init: N(0, sqrt(2 / fan_out)), bias 0.
    fan_out = kernel_size * kernel_size * out_channels // group
    return nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, pad_mode='pad',
                     padding=padding, group=group, has_bias=True,
                     weight_init=Normal(math.sqrt(2.0 / fan_out)), bias_init=Zero())


def to_tokens(x):
    """(B, C, H, W) -> (B, H*W, C)."""
    n, c, h, w = x.shape
    return x.reshape(n, c, h * w).transpose(0, 2, 1)


def to_map(tokens, h, w):
    """(B, H*W, C) -> (B, C, H, W)."""
    n, _, c = tokens.shape
    return tokens.transpose(0, 2, 1).reshape(n, c, h, w)


class OverlapPatchEmbed(nn.Cell):
    """A strided convolution whose patches overlap (7x7 stride 4, then 3x3 stride 2), as tokens."""

    def __init__(self, in_channels, channels, kernel_size, stride):
        super().__init__()
        self.proj = conv(in_channels, channels, kernel_size, stride, kernel_size // 2)
        self.norm = layer_norm(channels)

    def construct(self, x):
        x = self.proj(x)
        return self.norm(to_tokens(x)), x.shape[2], x.shape[3]


class Attention(nn.Cell):
    """Efficient self-attention: the keys and values come from the tokens on a grid `sr_ratio`
    times coarser (a strided convolution), so a stage-1 query attends to 64 times fewer."""

    def __init__(self, channels, num_heads, sr_ratio):
        super().__init__()
        self.num_heads = num_heads
        self.scale = (channels // num_heads) ** -0.5
        self.sr_ratio = sr_ratio
        self.q = dense(channels, channels)
        self.kv = dense(channels, 2 * channels)
        self.proj = dense(channels, channels)
        if sr_ratio > 1:
            self.sr = conv(channels, channels, sr_ratio, stride=sr_ratio)
            self.norm = layer_norm(channels)

    def construct(self, x, h, w):
        n, length, c = x.shape
        heads = self.num_heads
        q = self.q(x).reshape(n, length, heads, c // heads).transpose(0, 2, 1, 3)
        if self.sr_ratio > 1:
            x = self.norm(to_tokens(self.sr(to_map(x, h, w))))
        # kv's outputs: the keys' channels, then the values', each head after head.
        kv = self.kv(x).reshape(n, -1, 2, heads, c // heads).transpose(2, 0, 3, 1, 4)
        scores = ops.matmul(q, kv[0].transpose(0, 1, 3, 2)) * self.scale
        # The softmax in float32 under mixed precision, as transformers computes it.
        attn = ops.softmax(scores.astype(ms.float32), axis=-1).astype(q.dtype)
        out = ops.matmul(attn, kv[1]).transpose(0, 2, 1, 3).reshape(n, length, c)
        return self.proj(out)


class DWConv(nn.Cell):
    def __init__(self, channels):
        super().__init__()
        self.dwconv = conv(channels, channels, 3, padding=1, group=channels)

    def construct(self, x, h, w):
        return to_tokens(self.dwconv(to_map(x, h, w)))


class MixFFN(nn.Cell):
    """fc1, a 3x3 depthwise convolution (the position information: MiT has no position
    embedding), GELU, fc2."""

    def __init__(self, channels, hidden):
        super().__init__()
        self.fc1 = dense(channels, hidden)
        self.dwconv = DWConv(hidden)
        self.act = nn.GELU(approximate=False)
        self.fc2 = dense(hidden, channels)

    def construct(self, x, h, w):
        return self.fc2(self.act(self.dwconv(self.fc1(x), h, w)))


class DropPath(nn.Cell):
    """Stochastic depth: in training, a residual branch is dropped for a whole sample with
    probability p and scaled by 1 / (1 - p) otherwise."""

    def __init__(self, p):
        super().__init__()
        self.dropout = nn.Dropout(p=p)

    def construct(self, x):
        if not self.training:
            return x
        return x * self.dropout(ops.ones((x.shape[0], 1, 1), x.dtype))


class Block(nn.Cell):
    def __init__(self, channels, num_heads, sr_ratio, drop_path):
        super().__init__()
        self.norm1 = layer_norm(channels, BLOCK_EPS)
        self.attn = Attention(channels, num_heads, sr_ratio)
        self.norm2 = layer_norm(channels, BLOCK_EPS)
        self.mlp = MixFFN(channels, channels * MLP_RATIO)
        self.drop_path = DropPath(drop_path) if drop_path > 0 else None

    def construct(self, x, h, w):
        x = x + self.residual(self.attn(self.norm1(x), h, w))
        return x + self.residual(self.mlp(self.norm2(x), h, w))

    def residual(self, branch):
        return branch if self.drop_path is None else self.drop_path(branch)


class MixVisionTransformer(nn.Cell):
    """Four stages of patch embedding, blocks, LayerNorm; features at 1/4, 1/8, 1/16, 1/32."""

    def __init__(self, widths, depths, drop_path_rate=DROP_PATH_RATE):
        super().__init__()
        total = sum(depths)
        rates = [drop_path_rate * i / max(total - 1, 1) for i in range(total)]
        in_channels, first = 3, 0
        for i, (width, depth) in enumerate(zip(widths, depths), start=1):
            kernel, stride = (7, 4) if i == 1 else (3, 2)
            setattr(self, f'patch_embed{i}', OverlapPatchEmbed(in_channels, width, kernel, stride))
            setattr(self, f'block{i}', nn.CellList([
                Block(width, NUM_HEADS[i - 1], SR_RATIOS[i - 1], rates[first + j])
                for j in range(depth)]))
            setattr(self, f'norm{i}', layer_norm(width, BLOCK_EPS))
            in_channels, first = width, first + depth

    def construct(self, x):
        c1 = self.stage(x, self.patch_embed1, self.block1, self.norm1)
        c2 = self.stage(c1, self.patch_embed2, self.block2, self.norm2)
        c3 = self.stage(c2, self.patch_embed3, self.block3, self.norm3)
        return c1, c2, c3, self.stage(c3, self.patch_embed4, self.block4, self.norm4)

    def stage(self, x, embed, blocks, norm):
        x, h, w = embed(x)
        for block in blocks:
            x = block(x, h, w)
        return to_map(norm(x), h, w)


class MLP(nn.Cell):
    """A feature map's channels projected by one linear layer."""

    def __init__(self, in_channels, channels):
        super().__init__()
        self.proj = nn.Dense(in_channels, channels)

    def construct(self, x):
        _, _, h, w = x.shape
        return to_map(self.proj(to_tokens(x)), h, w)


class ConvModule(nn.Cell):
    """1x1 convolution, BatchNorm, ReLU (mmcv's ConvModule, whose names the head keeps)."""

    def __init__(self, in_channels, channels, freeze_bn):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, channels, 1, has_bias=False,
                              weight_init=HeNormal(mode='fan_out', nonlinearity='relu'))
        # PyTorch momentum 0.1 is MindSpore momentum 0.9; `freeze_bn`: running statistics
        # in training too (cfg.TRAIN.FREEZE_BN, as for DeepLab-v2).
        self.bn = nn.BatchNorm2d(channels, momentum=0.9, eps=1e-5,
                                 use_batch_statistics=False if freeze_bn else None)
        self.relu = nn.ReLU()

    def construct(self, x):
        return self.relu(self.bn(self.conv(x)))


class SegFormerHead(nn.Cell):
    """All-MLP decoder: each stage's features projected to `channels`, upsampled to 1/4,
    concatenated (the deepest first, as the original), fused by a 1x1 ConvModule, classified."""

    def __init__(self, in_widths, channels, num_classes, freeze_bn):
        super().__init__()
        for i, width in enumerate(in_widths, start=1):
            setattr(self, f'linear_c{i}', MLP(width, channels))
        self.linear_fuse = ConvModule(4 * channels, channels, freeze_bn)
        self.dropout = nn.Dropout2d(p=HEAD_DROPOUT)
        self.linear_pred = nn.Conv2d(channels, num_classes, 1, has_bias=True)

    def construct(self, features):
        c1, c2, c3, c4 = features
        size = c1.shape[2:]
        maps = (upsample_to(self.linear_c4(c4), size), upsample_to(self.linear_c3(c3), size),
                upsample_to(self.linear_c2(c2), size), self.linear_c1(c1))
        return self.linear_pred(self.dropout(self.linear_fuse(ops.concat(maps, axis=1))))


def upsample_to(x, size):
    """SegFormer's resize of features: bilinear, align_corners=False."""
    return ops.interpolate(x, size=size, mode='bilinear', align_corners=False)


class SegFormer(nn.Cell):
    """MiT encoder and SegFormer head; returns (None, logits at 1/4 of the input size)."""

    def __init__(self, arch='mit_b5', num_classes=19, freeze_bn=False,
                 pixel_mean=(104.00698793, 116.66876762, 122.67891434)):
        super().__init__()
        widths, depths, head_channels = VARIANTS[arch]
        self.backbone = MixVisionTransformer(widths, depths)
        self.decode_head = SegFormerHead(widths, head_channels, num_classes, freeze_bn)
        # BGR minus pixel_mean -> RGB, (pixel - ImageNet mean) / ImageNet std.
        bgr_mean = ms.Tensor(pixel_mean, ms.float32)[::-1]
        self.input_scale = (1.0 / ms.Tensor(IMAGENET_STD_RGB, ms.float32)).reshape(1, 3, 1, 1)
        self.input_shift = ((bgr_mean - ms.Tensor(IMAGENET_MEAN_RGB, ms.float32))
                            .reshape(1, 3, 1, 1) * self.input_scale)

    def construct(self, x):
        x = ops.flip(x, (1,)) * self.input_scale.astype(x.dtype) + self.input_shift.astype(x.dtype)
        return None, self.decode_head(self.backbone(x))

    def head_params(self):
        """The decode head, trained at 10x the backbone learning rate (DAFormer's)."""
        return self.decode_head.trainable_params()

    def backbone_params(self):
        return self.backbone.trainable_params()


def build_segformer(cfg, num_classes=None):
    """The SegFormer of cfg.MODEL.ARCH (a key of VARIANTS)."""
    return SegFormer(cfg.MODEL.ARCH, num_classes or cfg.NUM_CLASSES, cfg.TRAIN.FREEZE_BN,
                     tuple(cfg.TRAIN.IMG_MEAN))
