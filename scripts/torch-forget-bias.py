#!/usr/bin/env python3
"""PyTorch's reference benchmark (../shared/bench/torch_lstm.py), run with the LSTM biases initialised as
charnn initialises them: zero, except the forget gates, which get FORGET_BIAS (default 1). PyTorch's own
initialisation draws every bias from ±1/√H, which puts the forget gates near 0; this script lets the two
tools be compared from the same starting point. Same arguments as torch_lstm.py; run with Debian's python:

  FORGET_BIAS=1 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 scripts/torch-forget-bias.py \
    --corpus ../shared/corpora/tinyshakespeare.txt --time-budget-s 600
"""
import os, runpy, sys
import torch, torch.nn as nn

reference = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'bench', 'torch_lstm.py')
forget_bias = float(os.environ.get('FORGET_BIAS', '1'))
plain_init = nn.LSTM.__init__

def charnn_init(self, *args, **kwargs):
    plain_init(self, *args, **kwargs)
    H = self.hidden_size
    with torch.no_grad():
        for name, p in self.named_parameters():
            if name.startswith('bias'):
                p.zero_()
                if name.startswith('bias_ih'):
                    p[H:2 * H] = forget_bias  # PyTorch's gate order is i, f, g, o

nn.LSTM.__init__ = charnn_init
sys.argv = [reference] + sys.argv[1:]
runpy.run_path(reference, run_name='__main__')
