# Where each stage's jobs run. Every parallel stage calls  $cmd JOB=1:N LOGFILE command ...
#   local: processes on this machine (bin/launch.py --backend local)
#   slurm: one sbatch job array per command; conf/slurm.conf at the repository root maps --mem, --time,
#          --num-threads and --gpu to sbatch options (set slurm_config to use another file)
cmd_backend=${cmd_backend:-local}
slurm_config=${slurm_config:-${ASRKIT_ROOT}/conf/slurm.conf}

backend_opts="--backend ${cmd_backend}"
[ "${cmd_backend}" != slurm ] || backend_opts+=" --config ${slurm_config}"
train_cmd="launch.py ${backend_opts}"
decode_cmd="launch.py ${backend_opts}"
cuda_cmd="launch.py ${backend_opts}"
