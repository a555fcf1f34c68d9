"""The vocabulary of style tags: the words by which a comma-separated segment of a prompt describes the picture (its
camera, film, renderer, light, mood, genre, finish and quality) rather than an object in it.

Text-to-image prompts end in lists of such tags pasted from prompt guides and galleries ("..., 85mm lens, f/1.8,
kodak portra 400, octane render, soft shadows, eerie atmosphere, horror, 8k"). A segment after a comma that holds
no article and one of these words is style as a whole (:func:`~attnmod.toolkit.prompt.syntax.style_segments`), so
that neither back end makes an object of "lens", "shadows" or "atmosphere", nor hangs one from another tag.

The lists are by family, each the terms such guides use, not the words of one test prompt. A word that names an
everyday object as often as a look is left out (a "canon" is a camera maker but "cannon" is misspelt as it; "delta",
"cycles", "arnold", "maya", "unity", "marmoset" are rivers, bicycles, names and animals), or is matched only as
written (:data:`STYLE_TAG_FORMS`: "epic scale", not "iridescent scales").
"""

from __future__ import annotations

import re


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Matched by the written form or the lemma, anywhere in a segment after a comma. Rounds before 8 gathered the first
# line (quality, finish, colour grading, movements), the studios, magazines, sites and 3d tools prompts credit by
# name ("..., studio ghibli", "..., national geographic", "..., blender") and the line and edge looks; round 8 added
# the families below them; round 10 the 3d and graphic looks (last line: "low poly", "voxel", "pixel art",
# "isometric", "cel shaded", "claymation", "papercraft", "vector art"; "flat design" only hyphenated, since "a
# floral design" is a pattern on an object).
STYLE_TAG_NOUNS = _word_set(
    """
    light lighting 4k 8k hdr uhd resolution quality detail details render rendering bokeh focus artstation
    wallpaper masterpiece photorealism realism style aesthetic composition mm lens depth engine octane colors
    colours palette tones contrast exposure saturation grain film sharpness vignette shading cyberpunk steampunk
    vaporwave synthwave solarpunk noir anime manga baroque surrealism impressionism minimalism minimalist neon
    macro closeup telephoto
    ghibli pixar disney geographic blender midjourney deviantart pixiv behance cgsociety zbrush redshift
    edges outlines linework brushstrokes

    lenses aperture fisheye dslr nikon leica hasselblad sony gopro panavision anamorphic shutter iso
    kodak portra ektar ektachrome kodachrome fuji fujifilm velvia provia superia cinestill ilford hp5 tri-x
    lomography polaroid instax
    v-ray vray eevee keyshot houdini c4d cgi vfx raytracing raytraced tracing illumination occlusion scattering
    unreal 3d 2d cg
    shadow shadows rimlight backlight backlighting chiaroscuro
    atmosphere ambience ambiance mood vibe vibes tone
    horror fantasy sci-fi scifi fiction thriller dystopia grimdark dieselpunk biopunk afrofuturism retrofuturism
    noise blur flare aberration halftone texture bloom
    highres hd fhd 16k unsplash flickr 500px
    impasto gouache nouveau deco bauhaus lowpoly voxel lineart chibi pointillism cubism expressionism
    romanticism rococo renaissance brutalism ukiyo-e

    poly low-poly polygonal voxels voxelated pixelated pixel-art isometric cel cel-shaded toon claymation
    clay-animation stop-motion papercraft paper-cut vector flat-design
    """
)

# Matched only as written, anywhere in a segment after a comma: words whose other forms or senses name objects
# ("epic scale" is a look; "iridescent scales" are a dragon's; "moody" is tagged a noun after a comma as often as
# an adjective), and the look adjectives a tagger reads as nouns ("..., kodak portra 400, grainy").
STYLE_TAG_FORMS = _word_set(
    """
    scale grainy gritty cinematic photorealistic hyperrealistic hyperdetailed ultrarealistic filmic atmospheric
    volumetric moody dreamy ethereal monochrome monochromatic sepia desaturated overexposed underexposed backlit
    analog analogue
    """
)

# Camera settings and sizes written as one token: "8k", "85mm", "1080p", "60fps", "f/1.8", "f2.8", "1/250s",
# "iso400", "800t" (the tokeniser splits some of them: "85mm" as "85" and "mm", which the nouns above read). A
# shutter speed keeps its "s": "1/2" is a fraction ("37 1/2 x 16 in").
STYLE_UNIT = re.compile(r"\d+(k|mm|p|fps|mp|t)|f/?\d+(\.\d+)?|1/\d+s|iso\d+")

# "..., by Studio Ghibli", "..., trending on artstation": a segment after a comma that starts with one of these
# (and holds no article: "..., by the sea" is a place) credits an artist or a site.
STYLE_SEGMENT_OPENERS = frozenset({"by", "trending", "featured"})


def style_word(lower: str, lemma: str = "") -> bool:
    """Whether a word (its lower-case form and lemma) makes a tag segment style."""
    return (
        lower in STYLE_TAG_NOUNS
        or lemma in STYLE_TAG_NOUNS
        or lower in STYLE_TAG_FORMS
        or STYLE_UNIT.fullmatch(lower) is not None
    )
