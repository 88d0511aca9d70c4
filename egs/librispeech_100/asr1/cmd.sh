# Where each stage's jobs run: the template's switch between local processes and Slurm (egs/TEMPLATE/asr1/cmd.sh).
# A GPU partition on Slurm: copy conf/slurm.conf (repository root) to conf/slurm_gpu.conf, name the partition on its
# command line and ask for GPUs with --gres, e.g.
#     command sbatch --export=ALL --partition=gpu
#     option gpu=0 --partition=cpu          # feature and decoding jobs on a CPU partition, if the site has one
#     option gpu=* --gres=gpu:$0 --cpus-per-task=8
# then run on 4 GPUs of one node (training is torchrun inside one job; features and decoding are job arrays):
#     cmd_backend=slurm slurm_config=conf/slurm_gpu.conf ./run.sh --ngpu 4 --nj 32
. "${ASRKIT_ROOT}/egs/TEMPLATE/asr1/cmd.sh"
