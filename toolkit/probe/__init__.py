"""Causal information-flow probes: which text positions a pipeline's image depends on.

Attention maps show where a word is looked at, not whether the image needs it. The probe answers the second
question by intervention: it encodes the prompt once, edits the text states at chosen positions, hands the edited
``prompt_embeds`` (and ``pooled_prompt_embeds`` on SDXL) to the user's own diffusers pipeline, and keeps the images
and final latents of every edit next to the unedited ones of the same seeds. The pipeline itself, its attention
processors and its encoders are never changed; the negative branch of classifier-free guidance always gets the
unedited negative states.

Edits (:class:`Edit`), each on both text encoders' features or, on SDXL, on one encoder's features alone:

* ``word:TEXT``: a word of the prompt tree (a head noun or an attribute, all its sub-word tokens) takes the empty
  prompt's states at the same positions (which are padding states of the empty prompt);
* ``other-words`` (the positions between start and end that belong to no tree word: articles, "and", relations),
  ``all-words`` (every position between start and end), ``start``, ``end``, ``padding`` (every position after the
  end token): the same replacement over those positions;
* ``pooled``: SDXL's pooled embedding (``text_embeds``) taken from the empty prompt;
* ``swap:A:B``: the two words' positions take the states the encoder gives them in the prompt with the two words
  exchanged in the text ("a red circle and a blue square" -> "a blue circle and a red square"), every other
  position (the nouns that read their colour, the padding) keeping the original states. The default set swaps the
  attributes nearest the nouns of the first two entities that have one, and the first two entities' nouns (words
  with different token counts are not swapped). A literal exchange of the two positions' own states would test
  nothing: cross-attention sees the text states as a set of keys and values, with no position of its own, so
  permuting two of them leaves every attention output unchanged (measured on the shapes model: pixels changed by
  at most 2e-5).

:func:`run_probe` generates ``(edits + 1) x seeds`` images (one extra unedited seed when only one seed is given, for
the normalisation; see :mod:`attnmod.analysis.information_flow`) in batches of seeds and edits, each image from its
own CPU generator, so an image does not depend on what else is in its batch.
"""

from .edits import *  # noqa: F403
from .engine import *  # noqa: F403
