"""cztflow: the DFT part of Pan et al., Nano-Micro Lett. 15:225 (2023), as a workflow.

Data flows one way: ``structures`` (pure builders) → ``workflows`` (inputs, campaign,
execution) → ``analysis`` (parsers and Fig. 1 quantities).  The paper's settings live in
``cztflow.protocol``.
"""

__version__ = "0.1.0"
