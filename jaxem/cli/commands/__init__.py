"""Sub-commands of ``jaxem``; each module defines ``register(subparsers)``."""
