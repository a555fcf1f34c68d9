"""The shapes world: seeded procedural scenes whose truth is known pixel by pixel.

A scene is a plain background with 1 to 3 objects. Each object has a shape (:data:`SHAPES`), a colour
(:data:`COLOURS`, far apart in RGB), a size (``small``/``large``) and a position; a scene also records its relations
(left of, right of, above, below, inside) and the caption that names it. Captions come from a small grammar that
the prompt front end parses into one entity per object:

* ``single``: "a red circle", "a small blue square"
* ``pair``: "a red circle and a yellow star"
* ``relation``: "a green triangle to the left of a purple circle" (also right of, above, below)
* ``triple``: "a red circle, a blue square and a yellow star"
* ``nested``: "a red square with a blue circle inside"
* ``count``: "two blue stars", "three red rings"

:func:`render_scene` draws a scene with anti-aliased edges (4x4 supersampling) and returns the image with one
boolean mask per object (pixels whose coverage is at least one half; an inner object of a nested pair is cut out of
its container's mask).

Compositional hold-outs (never drawn in training scenes, see :func:`is_heldout`): the colour-shape pairs in
:data:`HELDOUT_COLOUR_SHAPES` (one per colour and per shape) and the shape pairs in :data:`HELDOUT_SHAPE_PAIRS`
(never two of these shapes in one scene). Evaluation prompt sets (:func:`prompt_set`) are named
``{seen|heldout}-{1|2|3}[/{tune|test}]`` (plus ``nested`` and ``count``): ``seen`` scenes contain no held-out
combination, ``heldout`` scenes contain at least one; ``tune`` and ``test`` halves never share a caption, so
methods can be chosen on one and reported on the other.
"""

from .captions import *  # noqa: F403
from .render import *  # noqa: F403
from .sampling import *  # noqa: F403
from .scenes import *  # noqa: F403
from .sets import *  # noqa: F403
