from .hooks import MainProcessLoggerHook, RNGStateHook, SharedStartHook

__all__ = ['MainProcessLoggerHook', 'RNGStateHook', 'SharedStartHook']
