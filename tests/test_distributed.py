"""Two gloo ranks on this machine: when rank 0 fails to prepare a run, every rank stops with an error instead of
the others waiting for it forever (under srun nothing kills them)."""

import multiprocessing
import os
import socket

from asrkit.errors import ConfigError


def _rank(rank: int, port: int, outcomes):
    os.environ.update(WORLD_SIZE="2", RANK=str(rank), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    from asrkit.train.distributed import Distributed

    def prepare():
        raise ConfigError("train.yaml: max_epoch: -1 is not a number of epochs")

    dist_env = Distributed()
    try:
        dist_env.on_main(prepare, "prepare the exp dir")
        outcomes.put((rank, "no error"))
    except Exception as error:
        outcomes.put((rank, f"{type(error).__name__}: {error}"))


def test_a_failure_on_rank_0_stops_every_rank_with_its_message():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    context = multiprocessing.get_context("spawn")
    outcomes = context.Queue()
    ranks = [context.Process(target=_rank, args=(rank, port, outcomes)) for rank in (0, 1)]
    for process in ranks:
        process.start()
    try:
        results = dict(outcomes.get(timeout=120) for _ in ranks)
    finally:
        for process in ranks:
            process.join(timeout=10)
            process.kill()
    assert results[0] == "ConfigError: train.yaml: max_epoch: -1 is not a number of epochs"
    assert results[1] == ("AsrkitError: rank 1: rank 0 failed to prepare the exp dir: "
                          "ConfigError: train.yaml: max_epoch: -1 is not a number of epochs")
