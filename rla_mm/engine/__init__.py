from .hooks import MainProcessLoggerHook, RNGStateHook

__all__ = ['MainProcessLoggerHook', 'RNGStateHook']
