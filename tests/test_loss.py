import mindspore as ms
import numpy as np
import torch

from net.loss import cross_entropy, seg_loss


def test_cross_entropy_is_the_mean_of_per_image_means():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 5, 4, 6)).astype(np.float32)
    label = rng.integers(0, 5, (2, 4, 6)).astype(np.int32)
    label[0, :2] = 255
    expected = np.mean([torch.nn.functional.cross_entropy(
        torch.tensor(logits[i:i + 1]), torch.tensor(label[i:i + 1]).long(),
        ignore_index=255).item() for i in range(2)])
    got = float(cross_entropy(ms.Tensor(logits), ms.Tensor(label)).asnumpy())
    assert abs(got - expected) < 1e-5


def test_fully_ignored_image_adds_zero():
    logits = ms.Tensor(np.zeros((1, 3, 2, 2), np.float32))
    label = ms.Tensor(np.full((1, 2, 2), 255, np.int32))
    assert float(cross_entropy(logits, label).asnumpy()) == 0.0


def test_seg_loss_upsamples_logits_to_the_label_and_weights_heads():
    rng = np.random.default_rng(1)
    aux = rng.normal(size=(1, 4, 3, 5)).astype(np.float32)
    main = rng.normal(size=(1, 4, 3, 5)).astype(np.float32)
    label = rng.integers(0, 4, (1, 9, 17)).astype(np.int32)
    loss, loss_main, loss_aux = seg_loss(ms.Tensor(aux), ms.Tensor(main), ms.Tensor(label),
                                         1.0, 0.1)
    up = torch.nn.functional.interpolate(torch.tensor(main), size=(9, 17), mode='bilinear',
                                         align_corners=True)
    expected_main = torch.nn.functional.cross_entropy(up, torch.tensor(label).long()).item()
    assert abs(float(loss_main.asnumpy()) - expected_main) < 1e-5
    assert abs(float(loss.asnumpy()) - (float(loss_main.asnumpy())
                                        + 0.1 * float(loss_aux.asnumpy()))) < 1e-5
