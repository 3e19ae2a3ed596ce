"""The released repository's public names, importable from the same modules."""
import numpy as np
import pytest

from net import deeplabv2_mindspore
from net.deeplabv2_mindspore import count_values
from utils.func import fast_hist, per_class_iu
from utils.serialization import json_load, yaml_load


def test_get_deeplab_v2_is_the_released_net():
    net = deeplabv2_mindspore.get_deeplab_v2()
    assert count_values(net) == (536, 44_706_904)           # the released checkpoints' size
    names = {name for name, _ in net.parameters_and_names()}
    assert {'conv1.weight', 'layer5.conv2d_list.3.bias', 'layer6.conv2d_list.0.weight'} <= names
    single = deeplabv2_mindspore.get_deeplab_v2(num_classes=16, multi_level=False)
    names = {name for name, _ in single.parameters_and_names()}
    assert not any(name.startswith('layer5.') for name in names)
    assert tuple(single.layer6.conv2d_list[0].weight.shape) == (16, 2048, 3, 3)
    with pytest.raises(ValueError, match='freeze_bn_affine'):
        deeplabv2_mindspore.get_deeplab_v2(freeze_bn_affine=False)


def test_released_loaders_and_metrics(tmp_path):
    (tmp_path / 'a.json').write_text('{"label2train": [[7, 0]]}')
    (tmp_path / 'b.yaml').write_text('TRAIN:\n  LAMBDA_KL: 0.5\n  KL_T: 10\n')
    assert json_load(tmp_path / 'a.json') == {'label2train': [[7, 0]]}
    assert yaml_load(tmp_path / 'b.yaml') == {'TRAIN': {'LAMBDA_KL': 0.5, 'KL_T': 10}}
    hist = fast_hist(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), 2)
    assert hist.tolist() == [[1, 1], [0, 2]]
    np.testing.assert_allclose(per_class_iu(hist), [1 / 2, 2 / 3])
