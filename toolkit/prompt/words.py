"""The word lists both parser back ends read: framing, relational, spatial, quantity, colour, material and shape
words, copulas, pronouns, containers and worn items, and the plural tables of the noun rule.

The lists encode the decisions of issue 3 (framing nouns such as "a photo of" and relational nouns in locative
phrases such as "on top of" are not entities, colour/material/shape nouns used as modifiers are attributes, pronouns
are not entities, an object reached through a spatial relation is a sibling of the object it relates to) and of
issue 29 (containers hold what is in them, worn items nest under the wearer, "made of" names a material, negation
words mark an entity absent).
"""

from __future__ import annotations

# Colour, material and shape words live in attribute_words.py; the back ends read them from here with the rest.
from .attribute_words import ATTRIBUTE_NOUNS, COLOUR_WORDS, MATERIAL_WORDS, SHAPE_WORDS  # noqa: F401

# Style tags after a comma ("..., 4k, soft light, 85mm lens, eerie atmosphere"): the look of the picture, not objects
# in it; the lists live in style_words.py.
from .style_words import STYLE_SEGMENT_OPENERS, STYLE_TAG_FORMS, STYLE_TAG_NOUNS, STYLE_UNIT, style_word  # noqa: F401


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# "a photo of X": the noun frames the picture; X is what the image shows. Recorded as the prompt's style.
FRAMING_NOUNS = frozenset(
    {
        "photo",
        "photograph",
        "picture",
        "image",
        "painting",
        "drawing",
        "sketch",
        "illustration",
        "render",
        "rendering",
        "close-up",
        "closeup",
        "shot",
        "snapshot",
        "portrait",
        "depiction",
        "artwork",
        "watercolor",
        "watercolour",
        "photography",
        "view",
        "scene",
        "screenshot",
        "cartoon",
        "selfie",
        "art",
        # what the whole image is: "a poster of a lion", "a logo of a fox", "a sticker of a smiling sun"
        "poster",
        "logo",
        "sticker",
        "icon",
        "emoji",
        "tattoo",
        "postcard",
        # print and art media, whose name is what the whole image is ("a woodblock print of a carp", "a linocut of a
        # hare", "an etching of a ship"; "gouache painting", "charcoal sketch" end in "painting" and "sketch" above)
        "print",
        "woodcut",
        "linocut",
        "etching",
        "engraving",
        "lithograph",
        "screenprint",
        "mezzotint",
        "fresco",
        "mural",
    }
)

# "a picture showing a cat", "an illustration depicting a knight": participles by which a framing noun names what
# the image shows, as "of" does.
DEPICTING_PARTICIPLES = frozenset({"showing", "depicting", "featuring", "portraying", "picturing", "displaying"})

# Nouns that name a place relative to another object ("on top of", "in front of", "to the left of"): not entities
# when they head the object of a preposition.
RELATIONAL_NOUNS = frozenset(
    {
        "top",
        "front",
        "side",
        "back",
        "middle",
        "left",
        "right",
        "bottom",
        "center",
        "centre",
        "edge",
        "corner",
        "rear",
        "underside",
        "inside",
        "outside",
        "behind",
        "foreground",
        "background",
        "midst",
        "surface",
        "end",
        "rest",
        "direction",
    }
)

# Words that make a phrase a spatial relation between two separate objects ("a cat to the left of a dog",
# "a lamp next to a bed", "a cat on a table", "a ring above a cross"). An entity reached from another through such a
# phrase is the other's sibling (it takes the other's parent), never its child: nesting means "part of, worn by,
# held by, inside", and the scorer and the masking treat a child as lying inside its parent's region. Matched
# against the words that link the two nouns (prepositions, adverbs, the relational noun of "to the left of"), never
# against the nouns themselves. Deliberately absent, so that they keep nesting: "with", "of" ("the handle of a
# cup", "a bowl of apples"), "in", "inside", "within", "into" ("a girl in a yellow dress": containment and
# clothing), and participles ("wearing", "holding", "riding"). "on" is spatial: "a cat on a table" names two objects
# ("a hat on a man" then also gives siblings, which is closer to the picture than the man nested inside the hat).
SPATIAL_WORDS = frozenset(
    {
        # prepositions and adverbs: "above a cross", "next to a bed", "across from a fountain"
        "above",
        "below",
        "under",
        "underneath",
        "beneath",
        "over",
        "atop",
        "on",
        "onto",
        "upon",
        "beside",
        "alongside",
        "along",
        "near",
        "nearby",
        "next",
        "close",
        "adjacent",
        "far",
        "away",
        "behind",
        "opposite",
        "across",
        "between",
        "among",
        "amongst",
        "amid",
        "around",
        "against",
        "beyond",
        "outside",
        "inside",
        "within",
        "toward",
        "towards",
        # a comparison relates two separate objects: "a dog bigger than a cat"
        "than",
        # "a bench where an old couple sits": as "on which" ("a table on which a vase stands"), a place
        "where",
        "past",
        "by",
        "at",
        # a path past or along another object ("a goat wanders through the grass", "otters drifting down a river"):
        # the object of "through" and "down" is a place the other moves in, a sibling as with "across" and "along"
        # (round 8; "into" still nests: "a stone thrown into a lake")
        "through",
        "down",
        # relational nouns of "to the left of", "in front of", "on top of", "in the middle of"
        "left",
        "right",
        "top",
        "bottom",
        "front",
        "back",
        "rear",
        "side",
        "middle",
        "center",
        "centre",
        "edge",
        "corner",
        "end",
        "underside",
        "foreground",
        "background",
        "midst",
    }
)

# "a lot of cats": quantity words whose "of" object is the entity.
QUANTITY_NOUNS = frozenset(
    {
        "lot",
        "lots",
        "couple",
        "number",
        "pair",
        "dozen",
        "handful",
        "plenty",
        "variety",
        "kind",
        "type",
        # collective nouns: "a herd of cows" shows cows
        "group",
        "herd",
        "flock",
        "crowd",
        "swarm",
        "pack",
        "troop",
        "colony",
        "sort",
        "few",
        "amount",
        "bunch",
        # "dozens of", "hundreds of" (read by lemma: "hundred")
        "dozens",
        "hundred",
        "hundreds",
        "thousand",
        "thousands",
        "million",
        "millions",
        "ton",
        "tons",
        "load",
        "loads",
        # more collective nouns: "a pile of books", "a school of fish", "a bouquet of tulips" show the books, the
        # fish, the tulips ("a bowl of", "a basket of", "a box of" stay objects: containers hold what they name; so
        # does "a stack of", which the shared cases and the prose gold read as an object holding its items)
        "pile",
        "heap",
        "row",
        "line",
        "set",
        "family",
        "cluster",
        "bouquet",
        "school",
        "pod",
        "pride",
        "litter",
        "bundle",
        "batch",
        "collection",
        "fleet",
        "army",
        "team",
        "gaggle",
        "band",
        "string",
        "array",
        "assortment",
        "series",
        # number collectives: "a trio of jugglers", "a quartet of monks" show the jugglers and the monks, as "a pair
        # of", "a couple of", "a dozen" and "a handful of" above do (the prose README's convention: the counting
        # noun is no entity); without "of" ("a jazz trio") the word stays the entity
        "duo",
        "trio",
        "quartet",
        "quintet",
        "sextet",
        "septet",
        "octet",
        "foursome",
        "pairs",
        "couples",
    }
)


# The copula's forms as written, for trees whose words carry no lemma (the constituency builder).
COPULA_FORMS = frozenset(
    {
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "'s",
        "'re",
        "am",
        "looks",
        "look",
        "looked",
        "seems",
        "seem",
        "appears",
        "appear",
        "becomes",
        "become",
        "remains",
        "stays",
    }
)

COPULA_LEMMAS = frozenset({"be", "look", "seem", "appear", "become", "remain", "stay", "get", "turn"})

PRONOUNS = frozenset(
    {
        "i",
        "me",
        "you",
        "he",
        "him",
        "she",
        "her",
        "it",
        "we",
        "us",
        "they",
        "them",
        "this",
        "that",
        "these",
        "those",
        "who",
        "whom",
        "which",
        "what",
        "one",
        "ones",
        "someone",
        "somebody",
        "something",
        "anyone",
        "anybody",
        "anything",
        "everyone",
        "everybody",
        "everything",
        "nobody",
        "nothing",
        "itself",
        "himself",
        "herself",
        "themselves",
        "myself",
        "yourself",
        "each",
        "other",
    }
)

# Irregular plurals a rule cannot guess; the dependency back end uses spaCy's lemmatiser instead.
IRREGULAR_PLURALS = {
    "men": "man",
    "women": "woman",
    "children": "child",
    "people": "person",
    "mice": "mouse",
    "geese": "goose",
    "teeth": "tooth",
    "feet": "foot",
    "oxen": "ox",
    "knives": "knife",
    "wives": "wife",
    "leaves": "leaf",
    "wolves": "wolf",
    "shelves": "shelf",
    "loaves": "loaf",
    "calves": "calf",
    "halves": "half",
    "scarves": "scarf",
    "lives": "life",
    "thieves": "thief",
    "dice": "die",
    "cacti": "cactus",
    "fungi": "fungus",
    "octopi": "octopus",
}
UNCHANGED_PLURALS = frozenset(
    {"sheep", "deer", "fish", "moose", "bison", "glasses", "scissors", "pants", "jeans", "shorts", "series", "species"}
)

# Receptacles, enclosures and vehicles: things made to hold what is in them. "A fish in a bowl", "a kitten inside a
# basket", "a dog in a car": the container is the parent and what is in it its child (it lies inside the container's
# region, the nesting the masking and the scorer assume). Any other noun after "in" keeps the older reading and nests
# under the noun before it: clothing and worn items ("a man in a suit", "a girl in a yellow dress") under the wearer,
# and places ("a chef in a kitchen"), which are backgrounds rather than objects with a region of their own. The list
# is the household and zoo receptacles, enclosures and common vehicles; a container missing from it reads like a place.
# Round 7 added vessels made only to hold things (a crock, pouch, satchel, urn, vial, flask, decanter, carafe,
# tureen, vat, keg, casket, chalice, thermos): nothing is ever "in" one of them but its contents.
CONTAINER_NOUNS = _word_set(
    """
    bowl box vase jar cup mug teacup basket cage birdcage tank aquarium terrarium bottle bucket pail pot flowerpot
    planter bag backpack handbag purse sack suitcase crate carton chest drawer trunk barrel jug pitcher kettle teapot
    glass tumbler goblet bathtub tub sink basin tray dish pan saucepan wok cauldron nest kennel hutch coop pen stable
    crib cradle stroller pram cart wheelbarrow wagon trolley envelope pocket tin can canister bin hamper
    crock pouch satchel urn vial flask decanter carafe tureen vat keg casket chalice thermos
    car truck van bus boat canoe kayak train tram taxi carriage plane airplane helicopter rocket submarine
    """
)

# Containers written as one word with another noun in front ("shoebox", "lunchbox", "fishbowl", "wastebasket"): the
# plainest receptacles, whose compounds are receptacles too (not "cup": "buttercup"; not "pot": "spot").
CONTAINER_SUFFIXES = ("box", "bowl", "basket", "jar", "cage", "bucket", "crate", "bottle", "barrel")

# "in", "inside", "within": the words by which a container holds an object ("into" is a motion, not a holding).
CONTAINMENT_WORDS = frozenset({"in", "inside", "within"})

# "a chair made of glass", "a statue carved from marble": what follows names the material, an attribute.
MATERIAL_PARTICIPLES = frozenset(
    {"made", "built", "carved", "crafted", "constructed", "sculpted", "woven", "knitted", "cast", "molded", "moulded"}
)
MATERIAL_PREPOSITIONS = frozenset({"of", "from", "out"})

# Negation: "a bowl without oranges", "a street with no cars", "no people", "neither roses nor tulips", "not a
# single cloud": the entity is marked absent. "or" and "nor" after a negated noun go on with the negation ("no
# swimmers or kayaks": neither is there); "and" does so only for a conjunct with no determiner of its own ("no cars
# and trucks", not "no cars and a bus").
NEGATION_PREPOSITIONS = frozenset({"without"})
NEGATION_DETERMINERS = frozenset({"no", "neither"})
NEGATION_ADVERBS = frozenset({"not"})
# Adverbs that join two modifiers rather than grade the next ("a rugged yet elegant watch"): not part of the attribute
JOINING_ADVERBS = frozenset({"yet"})
ALTERNATIVE_COORDINATORS = frozenset({"or", "nor"})
# A negated verb denies its object: "a cat that is not wearing a collar", "does not have a tail", "isn't holding a
# cup", "never wears a hat" (and "without wearing a hat", by NEGATION_PREPOSITIONS).
VERB_NEGATIONS = frozenset({"not", "n't", "never"})
# A contrast denies its second noun: "a zebra, not a horse", "a goose but not a swan" ("not" after a comma or a
# coordinator), "a horse instead of a zebra", "a mug rather than a cup": the prompt names what is not to be drawn.
CONTRAST_OPENERS = frozenset({",", "but", "and", ";"})
CONTRAST_PHRASES = frozenset({("instead", "of"), ("rather", "than")})

# Times of day and seasons: not objects when a preposition of time governs them ("an owl at night", "a park in
# autumn", "a beach at sunset") or when they stand alone as a tag after a comma ("..., golden hour").
TIME_NOUNS = _word_set(
    """
    night nighttime day daytime dawn dusk twilight midnight noon morning evening afternoon sunrise sunset
    hour autumn fall winter summer spring season
    """
)
TIME_PREPOSITIONS = frozenset({"at", "during", "in", "on", "before", "after", "until", "by"})

# The light a scene is in ("a vase on a windowsill in the morning light", "a couple dancing under the moonlight"):
# the look of the picture, style, not an object.
LIGHT_NOUNS = _word_set("light sunlight moonlight candlelight lamplight firelight starlight lighting glow")
LIGHT_PREPOSITIONS = frozenset({"in", "under", "by", "beneath"})

# Nouns in "-ing" that head compounds and take spatial phrases ("a wedding ring on a table"): never participles.
ING_NOUNS = _word_set(
    """
    building painting drawing wedding ceiling pudding clothing ring king wing string swing spring thing sibling
    dumpling duckling stocking earring railing awning icing frosting filling stuffing topping lighting evening
    morning offering carving sling sapling seedling herring shilling ending opening landing crossing clearing
    """
)

# "-ing" words that, between two nouns, name a kind of the second ("a kitchen cutting board", "a hotel swimming
# pool"), not a participle of the first: kept as part of the name. Words that as often take an object after a noun
# ("a chef chopping onions", "a man washing dishes") are left out.
ING_MODIFIERS = _word_set(
    """
    cutting dining frying swimming living rocking parking waiting diving skating boxing steering bathing
    """
)

# More "-ing" words that, right before a noun, usually name a kind of it ("a shopping bag", "a fishing rod", "a
# washing machine") rather than describe it as a participle ("a steaming bowl"); between two nouns they as often
# take an object ("a man washing dishes"), so only the rule for a word before its noun reads them.
ING_NAME_WORDS = ING_MODIFIERS | _word_set(
    """
    shopping washing baking chopping mixing wrapping drinking sewing ironing changing dressing fishing hiking
    climbing racing sailing training reading writing
    """
)

# Places and scenes: backgrounds in which something happens rather than objects held or worn. "A woman reads a book
# in a cozy library": the reading happens in the library, so a place after the object of a verb or participle
# belongs to the verb (and nests under its subject), not to the object ("a bird in a cage" stays with the bird:
# containers are not places).
PLACE_NOUNS = _word_set(
    """
    kitchen library room bedroom bathroom classroom office studio garage workshop bakery cafe restaurant bar pub
    diner shop store market supermarket museum gallery church temple cathedral hall lobby station airport harbor
    harbour port garden park yard backyard courtyard playground square plaza street alley road city town village
    field meadow pasture orchard vineyard farm farmyard greenhouse forest woods jungle desert beach countryside
    valley canyon cave attic basement cellar hallway corridor gym stadium arena theater theatre lab laboratory
    factory warehouse arcade parlor parlour salon subway
    """
)

# Clothing and worn things: "an old man in a tweed jacket and a flat cap" coordinates the cap with the jacket (both
# worn), where "a man in a suit and a woman" coordinates two people; the parse cannot tell, the word can.
CLOTHING_NOUNS = _word_set(
    """
    hat cap beret beanie helmet crown tiara veil hood scarf shawl tie bowtie collar coat jacket raincoat overcoat
    blazer cardigan sweater jumper hoodie vest waistcoat shirt blouse dress gown skirt suit tuxedo uniform robe cloak
    cape apron kimono sari jeans trousers pants shorts leggings overalls pajamas boots shoes sneakers sandals slippers
    heels socks stockings gloves mittens belt glasses sunglasses goggles mask earrings necklace bracelet ring watch
    backpack bandana armor
    """
)
