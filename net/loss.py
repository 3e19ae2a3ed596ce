"""Losses shared by all training stages (docs/FIDELITY.md: the loss weights and their sources)."""
import mindspore as ms
from mindspore import ops

from net.deeplabv2_mindspore import upsample
from utils.func import IGNORE_LABEL



def cross_entropy(logits, label):
    """Pixel-wise CE over each image's labeled pixels (255 ignored), averaged over images.

    Per-image means make a step on B images equal the data-parallel average of B ranks' steps
    on one image each (as DDM trains: batch 1), and an image with no labeled pixel (a
    pseudo-labeled one can be) adds 0 instead of `ops.cross_entropy`'s NaN mean.
    """
    logits = logits.astype(ms.float32)
    per_pixel = ops.cross_entropy(logits, label, ignore_index=IGNORE_LABEL, reduction='none')
    valid = (label != IGNORE_LABEL).astype(ms.float32)
    per_image = per_pixel.sum(axis=(1, 2)) / ops.maximum(valid.sum(axis=(1, 2)), 1.0)
    return per_image.mean()


def aux_term(loss_fn, pred_aux, *args):
    """`loss_fn(pred_aux, *args)`, the aux head's term of a loss; 0 for a net without an aux
    head (a SegFormer returns None in its place), logged as 0. The one place where the losses
    tell the nets apart."""
    if pred_aux is None:
        return ops.zeros((), ms.float32)
    return loss_fn(pred_aux, *args)


def upsampled_cross_entropy(logits, label):
    """CE of the logits upsampled bilinearly to the label's size."""
    return cross_entropy(upsample(logits, label.shape[-2:]), label)


def seg_loss(pred_aux, pred_main, label, lambda_main, lambda_aux):
    """λ_main·CE(main) + λ_aux·CE(aux), logits upsampled bilinearly to the label's size.

    Returns (loss, loss_main, loss_aux).
    """
    loss_main = upsampled_cross_entropy(pred_main, label)
    loss_aux = aux_term(upsampled_cross_entropy, pred_aux, label)
    return lambda_main * loss_main + lambda_aux * loss_aux, loss_main, loss_aux


def kl_distill(student_logits, teacher_prob, temperature, t_squared=True):
    """KL(teacher ‖ student) per pixel, averaged over pixels, with both softened by T.

    `teacher_prob` is already the (mean of the teachers') softmax at temperature T. The T²
    factor of Hinton et al. keeps gradient magnitudes comparable across temperatures; the
    released config sets KL_T = 10 without saying whether it is applied (TRAIN.KL_T_SQUARED).
    """
    log_student = ops.log_softmax(student_logits.astype(ms.float32) / temperature, axis=1)
    log_teacher = ops.log(ops.clamp(teacher_prob, 1e-12, 1.0))
    kl = (teacher_prob * (log_teacher - log_student)).sum(axis=1)
    return kl.mean() * (temperature ** 2 if t_squared else 1.0)
