"""Which process this is among the training ranks: torchrun's environment, or Slurm's for one rank per `srun` task.

Under torchrun (WORLD_SIZE > 1), or as one rank per `srun` task (SLURM_NTASKS > 1), a trainer runs with DDP: gloo
on CPU, nccl on GPU. One process is a world of size 1 and every method here is then a no-op.
"""

import logging
import os
from collections.abc import Callable

import torch
import torch.distributed as dist

from asrkit.errors import AsrkitError


class Distributed:
    """Rank, world size and device of this process; `single=True` ignores the environment (one process)."""

    def __init__(self, single: bool = False):
        if not single and "WORLD_SIZE" not in os.environ and "SLURM_STEP_ID" in os.environ:
            _torchrun_env_from_slurm(os.environ)
        self.world_size = 1 if single else int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = 0 if single else int(os.environ.get("RANK", "0"))
        self.device = torch.device("cpu")
        if self.world_size > 1:
            backend = "nccl" if torch.cuda.is_available() else "gloo"
            if backend == "nccl":
                self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
                torch.cuda.set_device(self.device)
            dist.init_process_group(backend)
        elif torch.cuda.is_available():
            self.device = torch.device("cuda")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def on_main(self, work: Callable, what: str):
        """work() on rank 0 while the other ranks wait; its result on rank 0, None on the others. When it fails (or
        is interrupted), rank 0 raises its error and every other rank a one-line error quoting it, naming `what`
        rank 0 was doing, instead of waiting forever."""
        if self.world_size == 1:
            return work()
        result, failure = None, None
        if self.is_main:
            try:
                result = work()
            except BaseException as error:
                failure = error
        message = [f"{type(failure).__name__}: {failure}" if failure else ""]
        dist.broadcast_object_list(message, src=0)
        if failure:
            raise failure
        if message[0]:
            raise AsrkitError(f"rank {self.rank}: rank 0 failed to {what}: {message[0]}")
        return result

    def wrap(self, model):
        if self.world_size == 1:
            return model
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=[self.device] if self.device.type == "cuda" else None)

    def mean(self, values: dict[str, float]) -> dict[str, float]:
        if self.world_size == 1:
            return values
        tensor = torch.tensor(list(values.values()), dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return dict(zip(values, (tensor / self.world_size).tolist()))

    def close(self):
        if self.world_size > 1:
            dist.destroy_process_group()
            # gloo workers sometimes abort in interpreter teardown ("terminate called without an active
            # exception") after a successful run; leave before teardown.
            logging.shutdown()
            os._exit(0)


def _torchrun_env_from_slurm(env):
    """What torchrun would set, for a process that `srun` started as one of SLURM_NTASKS ranks.

    Rank 0 runs on the node srun was launched from (srun's block distribution), so that node is the rendezvous
    address unless MASTER_ADDR says otherwise; the port follows from the job id so that jobs sharing a node differ.
    """
    env.setdefault("WORLD_SIZE", env.get("SLURM_NTASKS", "1"))
    env.setdefault("RANK", env.get("SLURM_PROCID", "0"))
    env.setdefault("LOCAL_RANK", env.get("SLURM_LOCALID", "0"))
    env.setdefault("MASTER_ADDR", env.get("SLURM_LAUNCH_NODE_IPADDR", "127.0.0.1"))
    env.setdefault("MASTER_PORT", str(20000 + int(env.get("SLURM_JOB_ID", "0")) % 20000))
