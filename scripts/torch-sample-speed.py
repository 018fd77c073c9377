#!/usr/bin/env python3
"""Sampling speed of the same char-LSTM in PyTorch, one character at a time (batch 1), to set beside the
`sample chars/s` column of `charnn bench`. Untrained weights: speed does not depend on them. Run with
Debian's python (apt-get install -y python3-torch libopenblas0-pthread):

  OPENBLAS_NUM_THREADS=1 /usr/bin/python3 scripts/torch-sample-speed.py --layers 2 --hidden 256 --vocab 65

Prints one JSON line with sample_chars_per_s.
"""
import argparse, json, time
import torch, torch.nn as nn

p = argparse.ArgumentParser()
p.add_argument('--layers', type=int, default=2)
p.add_argument('--hidden', type=int, default=256)
p.add_argument('--vocab', type=int, default=65)
p.add_argument('--chars', type=int, default=2000)
p.add_argument('--threads', type=int, default=1)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(1)

lstm, out = nn.LSTM(a.vocab, a.hidden, a.layers), nn.Linear(a.hidden, a.vocab)
eye = torch.eye(a.vocab)

def run(n):
    h, x = None, 0
    with torch.no_grad():
        for _ in range(n):
            y, h = lstm(eye[x].view(1, 1, -1), h)
            probs = torch.softmax(out(y.view(1, -1)) / 0.8, dim=-1)
            x = int(torch.multinomial(probs, 1))

run(50)  # warm-up
t = time.perf_counter()
run(a.chars)
seconds = time.perf_counter() - t
print(json.dumps(dict(tool='pytorch', torch=torch.__version__, threads=a.threads, layers=a.layers, hidden=a.hidden,
                      vocab=a.vocab, sample_chars_per_s=round(a.chars / seconds))))
