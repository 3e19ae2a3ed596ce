"""The SegFormer of net/segformer_mindspore.py against a reference nobody here wrote: transformers'
PyTorch SegformerForSemanticSegmentation, built from a SegformerConfig with random weights (no
download). weights/convert.py converts its state_dict, in its own names and in the original's
(NVlabs / mmsegmentation, DAFormer's pretrained/mit_b5.pth), and the logits agree."""
import mindspore as ms
import numpy as np
import pytest
import torch
from mindspore.nn.utils import no_init_parameters
from transformers import SegformerConfig, SegformerForSemanticSegmentation

from net.segformer_mindspore import (BLOCK_EPS, IMAGENET_MEAN_RGB, IMAGENET_STD_RGB, NUM_HEADS,
                                     SR_RATIOS, VARIANTS, SegFormer)
from utils.checkpoint import load_net_checkpoint
from utils.errors import CheckpointError, run_cli
from weights.convert import convert, convert_state_dict, main, parse_args

CAFFE_MEAN_BGR = (104.00698793, 116.66876762, 122.67891434)   # cfg.TRAIN.IMG_MEAN
NUM_CLASSES = 19


def reference(arch, seed=0):
    """transformers' SegFormer shaped as `arch`, in eval mode, with random LayerNorm and
    BatchNorm parameters and statistics (so a swapped scale and shift, or mean and variance,
    shows), and the original's LayerNorm epsilon in the blocks and after each stage, where
    transformers' port keeps PyTorch's default 1e-5."""
    widths, depths, head = VARIANTS[arch]
    torch.manual_seed(seed)
    config = SegformerConfig(num_labels=NUM_CLASSES, hidden_sizes=list(widths),
                             depths=list(depths), decoder_hidden_size=head,
                             num_attention_heads=list(NUM_HEADS), sr_ratios=list(SR_RATIOS))
    model = SegformerForSemanticSegmentation(config).eval()
    with torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, torch.nn.LayerNorm):
                if 'sequence_reduction' not in name and 'patch_embeddings' not in name:
                    module.eps = BLOCK_EPS
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0.0, 0.1)
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0.0, 0.1)
                module.running_mean.normal_(0.0, 0.2)
                module.running_var.uniform_(0.5, 2.0)
    return model


def inputs(height, width, seed=0):
    """(the project's input: BGR minus the Caffe mean, transformers': RGB normalised by
    ImageNet's mean and std) of one random image."""
    rgb = np.random.default_rng(seed).uniform(0, 255, (1, 3, height, width)).astype(np.float32)
    project = rgb[:, ::-1] - np.array(CAFFE_MEAN_BGR, np.float32).reshape(1, 3, 1, 1)
    normalised = ((rgb - np.array(IMAGENET_MEAN_RGB, np.float32).reshape(1, 3, 1, 1))
                  / np.array(IMAGENET_STD_RGB, np.float32).reshape(1, 3, 1, 1))
    return np.ascontiguousarray(project), normalised


def relative_difference(model, net, height, width):
    """max |ours - transformers'| / max |transformers'| of the logits of one image."""
    project, normalised = inputs(height, width)
    with torch.no_grad():
        expected = model(pixel_values=torch.from_numpy(normalised)).logits.numpy()
    aux, got = net(ms.Tensor(project))
    got = got.asnumpy()
    assert aux is None and got.shape == expected.shape, (got.shape, expected.shape)
    return float(np.abs(got - expected).max() / np.abs(expected).max())


def converted_net(arch, state_dict, **kwargs):
    with no_init_parameters():  # every weight is loaded next
        net = SegFormer(arch, NUM_CLASSES)
    arrays = convert_state_dict(state_dict, num_classes=NUM_CLASSES, arch=arch, **kwargs)
    not_loaded, _ = ms.load_param_into_net(
        net, {name: ms.Parameter(ms.Tensor(a), name) for name, a in arrays.items()},
        strict_load=True)
    assert not not_loaded
    net.set_train(False)
    return net


@pytest.fixture
def pynative():
    ms.set_context(mode=ms.PYNATIVE_MODE)   # a net this size runs once: no graph to compile
    yield
    ms.set_context(mode=ms.GRAPH_MODE)


@pytest.mark.parametrize('height, width', [(64, 96), (66, 98)])
def test_b0_gives_the_logits_of_transformers(pynative, tmp_path, height, width):
    """Through the command line and a strict load, at a size MiT divides evenly and at one
    whose reductions round down."""
    model = reference('mit_b0')
    torch.save({'state_dict': model.state_dict()}, tmp_path / 'b0.pth')
    run_cli(main, parse_args(['--src', str(tmp_path / 'b0.pth'), '--dst',
                              str(tmp_path / 'b0.ckpt'), '--arch', 'mit_b0']))
    net = SegFormer('mit_b0', NUM_CLASSES)
    load_net_checkpoint(net, str(tmp_path / 'b0.ckpt'))
    net.set_train(False)
    assert relative_difference(model, net, height, width) < 1e-5


def test_b5_shaped_gives_the_logits_of_transformers(pynative):
    model = reference('mit_b5')
    net = converted_net('mit_b5', model.state_dict())
    assert relative_difference(model, net, 64, 64) < 1e-5


# ---- the names of the other files --------------------------------------------------------

def transformers_v4_names(state_dict):
    """The state_dict under the names transformers' SegFormer had before version 5 (the files
    on its hub), spelt out here."""
    renames = (('segformer.stages.{i}.patch_embeddings.', 'segformer.encoder.patch_embeddings.{i}.'),
               ('segformer.stages.{i}.blocks.', 'segformer.encoder.block.{i}.'),
               ('segformer.stages.{i}.layer_norm.', 'segformer.encoder.layer_norm.{i}.'),
               ('decode_head.linear_projections.{i}.', 'decode_head.linear_c.{i}.'))
    leaves = (('attention.q_proj', 'attention.self.query'),
              ('attention.k_proj', 'attention.self.key'),
              ('attention.v_proj', 'attention.self.value'),
              ('attention.sequence_reduction.sequence_reduction', 'attention.self.sr'),
              ('attention.sequence_reduction.layer_norm', 'attention.self.layer_norm'),
              ('attention.o_proj', 'attention.output.dense'), ('mlp.fc1', 'mlp.dense1'),
              ('mlp.fc2', 'mlp.dense2'), ('layernorm_before', 'layer_norm_1'),
              ('layernorm_after', 'layer_norm_2'))
    renamed = {}
    for name, tensor in state_dict.items():
        for i in range(4):
            for new, old in renames:
                name = name.replace(new.format(i=i), old.format(i=i))
        for new, old in leaves:
            name = name.replace(new, old)
        renamed[name] = tensor
    return renamed


def original_names(state_dict, whole=True):
    """The state_dict under the NVlabs / mmsegmentation names, spelt out here: a whole mmseg
    SegFormer (`backbone.`, `decode_head.`, the unused `conv_seg`) or, `whole` False, an
    ImageNet MiT as DAFormer's pretrained/mit_b5.pth (no prefix, a 1000-class `head`)."""
    out = {}
    for name, tensor in state_dict.items():
        if name.startswith('segformer.stages.'):
            _, _, stage, part, rest = name.split('.', 4)
            i = int(stage) + 1
            if part == 'patch_embeddings':
                rest = rest.replace('layer_norm.', 'norm.')
                target = f'patch_embed{i}.{rest}'
            elif part == 'layer_norm':
                target = f'norm{i}.{rest}'
            else:
                block, rest = rest.split('.', 1)
                for new, old in (('layernorm_before', 'norm1'), ('layernorm_after', 'norm2'),
                                 ('attention.q_proj', 'attn.q'), ('attention.o_proj', 'attn.proj'),
                                 ('attention.sequence_reduction.sequence_reduction', 'attn.sr'),
                                 ('attention.sequence_reduction.layer_norm', 'attn.norm')):
                    rest = rest.replace(new, old)
                if 'attention.v_proj' in rest:
                    continue
                if 'attention.k_proj' in rest:
                    value = state_dict[name.replace('k_proj', 'v_proj')]
                    rest, tensor = rest.replace('attention.k_proj', 'attn.kv'), torch.cat([tensor, value])
                target = f'block{i}.{block}.{rest}'
            out[('backbone.' if whole else '') + target] = tensor
        elif whole:
            for i in range(4):
                name = name.replace(f'linear_projections.{i}.', f'linear_c{i + 1}.')
            for new, old in (('classifier', 'linear_pred'), ('batch_norm', 'linear_fuse.bn'),
                             ('linear_fuse.weight', 'linear_fuse.conv.weight')):
                name = name.replace(new, old)
            out[name] = tensor
    if whole:
        out['decode_head.conv_seg.weight'] = torch.zeros(NUM_CLASSES, 256, 1, 1)
        out['decode_head.conv_seg.bias'] = torch.zeros(NUM_CLASSES)
    else:
        out['head.weight'], out['head.bias'] = torch.zeros(1000, 256), torch.zeros(1000)
    return out


def test_every_name_set_converts_to_the_same_net(pynative):
    """transformers' names of today and of its hub files, and the original's: the same
    arrays; the original's whole SegFormer gives transformers' logits."""
    model = reference('mit_b0')
    state = model.state_dict()
    today = convert(state, arch='mit_b0')
    assert today.kind == 'transformers' and not today.initialised
    for other, kind in ((transformers_v4_names(state), 'transformers'),
                        (original_names(state), 'mit')):
        conversion = convert(other, arch='mit_b0')
        assert conversion.kind == kind and not conversion.initialised
        assert conversion.arrays.keys() == today.arrays.keys()
        for name, array in today.arrays.items():
            np.testing.assert_array_equal(conversion.arrays[name], array, err_msg=name)
    net = converted_net('mit_b0', original_names(state))
    assert relative_difference(model, net, 64, 96) < 1e-5


def test_an_imagenet_mit_keeps_the_nets_decode_head():
    """DAFormer's pretrained/mit_b5.pth holds the encoder and an ImageNet classifier: the
    classifier is dropped, the decode head starts as the net's own."""
    state = reference('mit_b0').state_dict()
    conversion = convert(original_names(state, whole=False), arch='mit_b0')
    assert conversion.kind == 'mit'
    assert {'head.weight', 'head.bias'} <= set(conversion.dropped)
    assert conversion.initialised and all(n.startswith('decode_head.')
                                          for n in conversion.initialised)
    full = convert(state, arch='mit_b0').arrays
    backbone = [n for n in full if n.startswith('backbone.')]
    assert len(backbone) + len(conversion.initialised) == len(full)
    for name in backbone:
        np.testing.assert_array_equal(conversion.arrays[name], full[name], err_msg=name)


@pytest.mark.parametrize('arch, needle', [
    ('deeplabv2', 'holds a SegFormer, --arch is deeplabv2'),
    ('mit_b1', 'has shape'),
])
def test_the_wrong_net_is_named(arch, needle):
    state = reference('mit_b0').state_dict()
    with pytest.raises(CheckpointError, match=needle):
        convert(state, arch=arch)


def test_pseudo_labels_read_the_one_head(tiny_cfg, tmp_path):
    """The pseudo labels' Confidence of a SegFormer checkpoint: its head's confidences and
    labels at the labels' size (its logits are at 1/4 of the input)."""
    from net.deeplabv2_mindspore import build_model
    from engine.compiled_steps import kept_confidence
    from utils.checkpoint import save_checkpoint
    tiny_cfg.MODEL.ARCH = 'mit_tiny'
    save_checkpoint(str(tmp_path / 'mit.ckpt'), build_model(tiny_cfg))
    project, _ = inputs(64, 128)
    confidence, label = kept_confidence(tiny_cfg, str(tmp_path / 'mit.ckpt'),
                                        (64, 128))(ms.Tensor(project))
    assert confidence.shape == label.shape == (1, 64, 128)
    assert 1 / NUM_CLASSES <= float(confidence.min().asnumpy()) <= 1.0
