"""A JACK client that delays its input by a set number of samples: a loopback of known delay.

Run as a program (``python tests/_jack_delay.py NAME SAMPLES``): it registers ``NAME`` with one
input and one output port, copies input to output ``SAMPLES`` later in its process callback,
prints ``ready`` and runs until its standard input closes.
"""

import sys

import jack
import numpy as np


def main() -> None:
    name, delay = sys.argv[1], int(sys.argv[2])
    client = jack.Client(name, no_start_server=True)
    source, sink = client.inports.register("in_1"), client.outports.register("out_1")
    size = 1 << int(np.ceil(np.log2(delay + 2 * client.blocksize + 1)))
    line = np.zeros(size, np.float32)
    written = [0]

    @client.set_process_callback
    def process(frames):
        at = written[0]
        index = (at + np.arange(frames)) & (size - 1)
        line[index] = source.get_array()
        sink.get_array()[:] = line[(index - delay) & (size - 1)]
        written[0] = at + frames

    with client:
        print("ready", flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
