from .rla_cls_neck import RLAClsNeck

__all__ = ['RLAClsNeck']
