# Where each stage's jobs run. Every parallel stage calls  $cmd JOB=1:N LOGFILE command ...
#   local: processes on this machine (bin/launch.py --backend local)
cmd_backend=${cmd_backend:-local}

train_cmd="launch.py --backend ${cmd_backend}"
decode_cmd="launch.py --backend ${cmd_backend}"
cuda_cmd="launch.py --backend ${cmd_backend}"
