"""spikernn: recurrent spiking RNN/LSTM/GRU, conversion to Loihi-style Lava processes, simulated
neuromorphic hardware and energy reports.

``import spikernn`` imports torch but never Lava; ``spikernn.hardware`` loads Lava lazily.
"""
__version__ = "0.1.0"
