"""Losses shared by all training stages (DESIGN.md §2)."""
import mindspore as ms
from mindspore import ops

from net.deeplabv2 import upsample

IGNORE_LABEL = 255


def cross_entropy(logits, label):
    """Pixel-wise CE over labeled pixels (255 ignored); 0 when every pixel is ignored.

    `ops.cross_entropy`'s mean is NaN when nothing is labeled (as in PyTorch), which a
    pseudo-labeled image can be; the sum over the valid count avoids it.
    """
    valid = (label != IGNORE_LABEL).astype(ms.float32).sum()
    total = ops.cross_entropy(logits, label, ignore_index=IGNORE_LABEL, reduction='sum')
    return total / ops.maximum(valid, 1.0)


def seg_loss(pred_aux, pred_main, label, lambda_main, lambda_aux):
    """λ_main·CE(main) + λ_aux·CE(aux), logits upsampled bilinearly to the label's size.

    Returns (loss, loss_main, loss_aux).
    """
    size = label.shape[-2:]
    loss_main = cross_entropy(upsample(pred_main, size), label)
    loss_aux = cross_entropy(upsample(pred_aux, size), label)
    return lambda_main * loss_main + lambda_aux * loss_aux, loss_main, loss_aux


def kl_distill(student_logits, teacher_prob, temperature):
    """KL(teacher ‖ student) per pixel, averaged over pixels, with both softened by T.

    `teacher_prob` is already the (mean of the teachers') softmax at temperature T; the
    T² factor of Hinton et al. keeps gradient magnitudes comparable across temperatures.
    """
    log_student = ops.log_softmax(student_logits / temperature, axis=1)
    log_teacher = ops.log(ops.clamp(teacher_prob, 1e-12, 1.0))
    kl = (teacher_prob * (log_teacher - log_student)).sum(axis=1)
    return kl.mean() * temperature ** 2
