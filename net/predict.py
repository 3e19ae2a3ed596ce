"""Asking a trained net: a model loaded from a checkpoint (optionally frozen), its main head
(logits, train ids at a size, or confidences), and the teachers' ensemble. eval.py, infer.py, export.py, distillation and pseudo-labelling
all take their models from here."""
import mindspore as ms
from mindspore import nn, ops

from net.deeplabv2_mindspore import build_model, upsample
from utils.checkpoint import load_net_checkpoint


def load_model(cfg, checkpoint, frozen_as=None):
    """The network of `cfg` with every parameter from `checkpoint` (None: untrained, for a
    graph compiled before the checkpoint exists), in inference mode.

    `frozen_as`: a frozen teacher whose parameters are renamed `NAME.*` (one compiled step
    holds the student and both teachers: their names must differ) and take no gradient.
    """
    net = build_model(cfg)
    if checkpoint is not None:
        load_net_checkpoint(net, checkpoint)
    net.set_train(False)
    if frozen_as:
        net.update_parameters_name(frozen_as + '.')
        for param in net.get_parameters():
            param.requires_grad = False
    return net


class MainHead(nn.Cell):
    """The main head's logits, at about 1/8 of the input size (DeepLab-v2; SegFormer's, its
    only head, at 1/4); the aux head only trains."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def construct(self, image):
        _, pred_main = self.net(image)
        return pred_main


class Predictor(nn.Cell):
    """Train ids at `output_hw` from the main head (align_corners=True, as released)."""

    def __init__(self, net, output_hw):
        super().__init__()
        self.net = net
        self.output_hw = tuple(output_hw)

    def construct(self, image):
        _, pred_main = self.net(image)
        return ops.argmax(upsample(pred_main, self.output_hw), dim=1).astype(ms.uint8)


def confidence_and_label(pred_main, size_hw):
    """(max probability, argmax) per pixel at `size_hw`, in BDL's order: softmax of the 1/8
    logits, then the *probabilities* upsampled bilinearly (align_corners=True). Upsampling
    the logits first, then softmax, changed 6-23% of the pseudo labels on random logits."""
    prob = upsample(ops.softmax(pred_main, axis=1), size_hw)
    confidence, label = ops.max(prob, axis=1)
    return confidence, label.astype(ms.uint8)


class Confidence(nn.Cell):
    """`confidence_and_label` of the main head at the pseudo labels' resolution."""

    def __init__(self, net, size_hw):
        super().__init__()
        self.net = net
        self.size_hw = tuple(size_hw)

    def construct(self, image):
        _, pred_main = self.net(image)
        return confidence_and_label(pred_main, self.size_hw)


def load_main_head(cfg, checkpoint):
    """The checkpoint's network in inference mode, returning the main head's logits."""
    return MainHead(load_model(cfg, checkpoint))


def ensemble_prob(teachers, image, temperature, at_input_size=False):
    """E(M_RL(x), M_SL(x)): the mean of the teachers' softened softmax, for (aux, main); at
    the logits' resolution, or with the logits first upsampled to the image's size. Nets
    without an aux head (None in its place) have None there too."""
    outputs = [teacher(image) for teacher in teachers]

    def mean_prob(head):
        if outputs[0][head] is None:
            return None
        logits = [out[head] for out in outputs]
        if at_input_size:
            logits = [upsample(x, image.shape[-2:]) for x in logits]
        return ops.stop_gradient(sum(ops.softmax(x / temperature, axis=1) for x in logits)
                                 / len(logits))

    return mean_prob(0), mean_prob(1)


class TeacherEnsemble(nn.Cell):
    """E(M_RL, M_SL) as one model, the target the student is distilled towards: (aux, main)
    mean softmax at temperature 1. It evaluates like any model (argmax of probabilities)."""

    def __init__(self, cfg, checkpoints):
        super().__init__()
        self.teachers = nn.CellList([load_model(cfg, path, frozen_as=f'teacher{i}')
                                     for i, path in enumerate(checkpoints)])

    def construct(self, image):
        return ensemble_prob(self.teachers, image, 1.0)

