"""The data sets of a run, from the config: source, labeled target, unlabeled target, val."""
import copy
import sys

from dataset.base_dataset import read_list
from dataset.cityscapes import CityscapesDataset, PseudoLabeledCityscapes, cityscapes_val
from dataset.gta5 import GTA5Dataset
from dataset.pipeline import GroundTruthShare
from dataset.synthia import SynthiaDataset
from dataset.subsets import unlabeled_pool
from utils.errors import DataError


def source_dataset(cfg):
    """GTA5 (labels through the class table of TEST.INFO) or SYNTHIA (16 classes)."""
    mean, size = cfg.TRAIN.IMG_MEAN, cfg.TRAIN.INPUT_SIZE_SOURCE
    if cfg.SOURCE == 'GTA':
        return GTA5Dataset(cfg.DATA_DIRECTORY_SOURCE, cfg.DATA_LIST_SOURCE, size, mean,
                           cfg.TEST.INFO)
    return SynthiaDataset(cfg.DATA_DIRECTORY_SOURCE, cfg.DATA_LIST_SOURCE, size, mean)


def target_labeled_dataset(cfg):
    """D_T: the labeled Cityscapes train images of this label budget, plus (from round 2) the
    pseudo-labeled D_U of DATA_DIRECTORY_PSEUDO, less the images D_T labels already; then
    TRAIN.LABELED_SHARE of the draws are ground truth (GroundTruthShare)."""
    labeled = CityscapesDataset(cfg.DATA_DIRECTORY_TARGET,
                                cfg.DATA_LIST_TARGET_LABELED, 'train',
                                cfg.TRAIN.INPUT_SIZE_TARGET, cfg.TRAIN.IMG_MEAN, cfg.TEST.INFO)
    if not cfg.DATA_DIRECTORY_PSEUDO:
        return labeled
    pseudo = PseudoLabeledCityscapes(cfg.DATA_DIRECTORY_TARGET, cfg.DATA_DIRECTORY_PSEUDO,
                                     cfg.TRAIN.INPUT_SIZE_TARGET, cfg.TRAIN.IMG_MEAN,
                                     cfg.TEST.INFO, exclude=labeled.names)
    return GroundTruthShare(labeled, pseudo, cfg.TRAIN.LABELED_SHARE)


def target_unlabeled_dataset(cfg):
    """D_U: every Cityscapes train image (optionally less D_T), labels unused."""
    dataset = CityscapesDataset(cfg.DATA_DIRECTORY_TARGET, cfg.DATA_LIST_TARGET, 'train',
                                cfg.TRAIN.INPUT_SIZE_TARGET, cfg.TRAIN.IMG_MEAN, cfg.TEST.INFO,
                                labeled=False)
    if cfg.EXCLUDE_LABELED_FROM_UNLABELED:
        labeled = read_list(cfg.DATA_LIST_TARGET_LABELED)
        dataset.names = unlabeled_pool(dataset.names, labeled, exclude_labeled=True)
        if not dataset.names:
            raise DataError(f'{cfg.DATA_LIST_TARGET}: no unlabeled image is left after '
                            f'removing {cfg.DATA_LIST_TARGET_LABELED}')
    return dataset


def val_dataset(cfg):
    return cityscapes_val(cfg, cfg.DATA_DIRECTORY_TARGET)


def check_inputs(cfg):
    """Read every list of the config and check that each file it names is there, before a
    pipeline's first step: a missing val image stops it now, not after a round's training
    (the pseudo labels, which the pipeline makes, excepted). A D_T that is not part of D_U
    is a warning (the paper's D_U holds every train image, D_T among them)."""
    without_pseudo = copy.deepcopy(cfg)
    without_pseudo.DATA_DIRECTORY_PSEUDO = ''
    source_dataset(cfg)
    labeled = target_labeled_dataset(without_pseudo)
    target_unlabeled_dataset(cfg)
    val_dataset(cfg)
    pool = set(read_list(cfg.DATA_LIST_TARGET))
    outside = [name for name in labeled.names if name not in pool]
    if outside:
        print(f'warning: {len(outside)} of the {len(labeled)} images of '
              f'DATA_LIST_TARGET_LABELED {cfg.DATA_LIST_TARGET_LABELED} are not in '
              f'DATA_LIST_TARGET {cfg.DATA_LIST_TARGET} (e.g. {outside[0]}): D_T is not part '
              f'of D_U', file=sys.stderr)
