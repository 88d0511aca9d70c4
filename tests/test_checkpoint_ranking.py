"""The n-best epochs the training loop keeps and averages (asrkit/train/checkpoint.py)."""

from asrkit.train.checkpoint import TrainingState


def test_the_nbest_epochs_prefer_the_later_epoch_when_the_valid_accuracy_ties():
    state = TrainingState("acc", higher_better=True)
    for epoch, acc in enumerate([0.52, 0.52, 0.52, 0.40, 0.52, 0.90], start=1):
        state.record(epoch, {}, {"acc": acc})
    assert state.nbest(3) == [6, 5, 3]


def test_the_nbest_epochs_by_loss_are_the_lowest_losses():
    state = TrainingState("loss", higher_better=False)
    for epoch, loss in enumerate([3.0, 1.0, 2.0, 1.0], start=1):
        state.record(epoch, {}, {"loss": loss})
    assert state.nbest(2) == [4, 2]
