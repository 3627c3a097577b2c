"""mmtrain: the motion-magnification network (Oh et al. 2018), training, video magnification, evaluation."""

from mmdata import __version__

__all__ = ["__version__"]
