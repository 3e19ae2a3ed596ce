import numpy as np
import pytest

from utils.func import ConfusionMatrix, fast_hist, mean_ious, per_class_iu


def test_fast_hist_counts_label_pred_pairs_and_ignores_255():
    label = np.array([0, 0, 1, 2, 255, 2])
    pred = np.array([0, 1, 1, 2, 0, 0])
    hist = fast_hist(label, pred, 3)
    assert hist.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]


def test_per_class_iu_hand_computed_with_absent_class():
    hist = np.array([[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]])
    ious = per_class_iu(hist)
    # class 0: tp 1, fp 1 (from label 2), fn 1 -> 1/3; class 1: 1/2; class 2: 1/2; class 3 absent
    np.testing.assert_allclose(ious[:3], [1 / 3, 1 / 2, 1 / 2])
    assert np.isnan(ious[3])


def test_class_predicted_but_never_labeled_scores_zero():
    ious = per_class_iu(fast_hist(np.array([0, 0]), np.array([0, 1]), 2))
    assert ious.tolist() == [0.5, 0.0]


def test_miou_subsets_19_classes():
    ious = np.arange(19) / 100.0
    ious[9] = np.nan                       # terrain absent from label and prediction
    out = mean_ious(ious)
    assert out['mIoU-19'] == pytest.approx(np.nanmean(ious) * 100)
    sixteen = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 15, 17, 18]
    thirteen = [0, 1, 2, 6, 7, 8, 10, 11, 12, 13, 15, 17, 18]
    assert out['mIoU-16'] == pytest.approx(np.mean(ious[sixteen]) * 100)
    assert out['mIoU-13'] == pytest.approx(np.mean(ious[thirteen]) * 100)


def test_miou_subsets_16_classes():
    ious = np.linspace(0.1, 0.85, 16)
    out = mean_ious(ious)
    assert set(out) == {'mIoU-16', 'mIoU-13'}
    assert out['mIoU-16'] == pytest.approx(ious.mean() * 100)
    assert out['mIoU-13'] == pytest.approx(np.delete(ious, [3, 4, 5]).mean() * 100)


def test_confusion_matrix_accumulates_and_summarises():
    matrix = ConfusionMatrix(19)
    matrix.update(np.array([[0, 1]]), np.array([[0, 1]]))
    matrix.update(np.array([[13, 255]]), np.array([[0, 5]]))
    summary = matrix.summary()
    assert summary['per_class']['0'] == 50.0 and summary['per_class']['1'] == 100.0
    assert summary['per_class']['13'] == 0.0 and summary['per_class']['4'] is None
    assert summary['mIoU-19'] == pytest.approx(50.0)
