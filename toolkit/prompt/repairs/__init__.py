"""Repairs of the small English model's tags, arcs and lemmas on prompt-shaped text, before either back end reads it.

spaCy's small pipeline was trained on sentences; prompts are mostly long noun phrases, on which it makes a few errors
again and again. Each repair below reads a visible cue in the words and rewrites the doc in place (tags, lemmas,
heads), so that the dependency builder reads a sound tree and the benepar route gets sound tags and lemmas:

* a participle read as the head noun of a compound: "a horse grazing near a barn" (``horse -compound-> grazing``):
  the noun before it is the head, the participle hangs from it;
* a participle read as an adjective of the next noun: "a chef cooking pasta in a kitchen" (``chef <-npadvmod-
  cooking <-amod- pasta``): the first noun governs the participle, the second is its object;
* a noun read as a verb after its adjective: "a woman handing a red rose to a child" ("rose" as the past of "rise",
  "red" as the object): the noun takes the adjective's place, the adjective describes it;
* a noun phrase made the predicate of a subject with no verb: "a man wearing a hat and a blue shirt" (``shirt`` the
  root, ``man`` its subject): it is a conjunct of the word before its "and";
* a participle read as a noun ("a fox hiding behind a rock"), a comparative read as the root ("a horse taller than a
  man"), a verb read as a plural noun after a relative clause ("a boy whose shirt is orange kicks a ball"), an
  article hung from a word beyond its noun ("a hill, highly detailed"); a relative clause's adjective hung on the
  next word and that word, a verb, read as a plural noun ("a car which is blue stops near a sign"); a plural noun with
  a subject ("a fox sleeps"); a numeral made the root ("two cacti on a shelf");
* a hyphenated word split at its hyphens: "snow-covered mountains" (no snow), "a long-haired cat": merged into one
  token, an adjective when its last part is one;
* a finite verb read into the noun before it: "A small bird sings in a tree" (``bird -compound-> sings``, "sings" a
  plural noun or a verb), "a woman who wears a black dress sings", "Cold rain drums on the tin rooftops.", "Crisp frost coats
  the wooden bench." (a prose sentence with no other verb); a verb read as a plural noun after "that"/"who" ("a ship that sails across the
  sea");
* a participle between two nouns read as a compound: "a chef slicing onions on a board";
* a noun tagged an adjective in a noun's place: "a flock of geese" (``geese`` an adjective);
* a noun hung as a modifier of a word beyond a comma: "a house on a cloud, whimsical, pastel colors";
* a plural noun after a relative clause's colour, read as its predicate: "a knight whose armor is silver guards a
  gate"; a participle read as a verb with an article as its subject: "an orange and purple striped scarf"; a colour
  read as a noun coordinated with the subject: "three brown puppies and one grey kitten";
* a noun read as a verb after "and": "nachos and salsa" (``salsa`` a past tense), or with the colour before it as its
  subject: "a pale pink rose"; an adjective hung as a compound: "a misty lake";
* an adjective read as a noun in a compound: "a misty lake" (checked against the lemmatiser's own word lists), or
  as a proper noun in lower case: "..., moody, dark clouds";
* a second object hung as a conjunct of the first noun while its "and" hangs from the first object: "a woman with
  long hair and a red dress";
* a colour or material noun made the head of the noun after it: "the princess's silver tiara";
* a participle hung on what someone is in: "a boy in a yellow raincoat jumping in puddles" (the boy jumps);
* a piece of clothing coordinated with its wearer: "a man in a tweed jacket and a flat cap";
* a participle read as a gerund after a preposition: "a robot with glowing blue eyes"; a noun made the subject of
  the noun it names with: "a teddy bear with a missing eye"; a conjunct whose own preposition was hung on the first
  noun: "a cup without a handle and a plate without food";
* a noun after "or"/"nor" hung beyond the negated noun it follows: "a quiet lagoon with no swimmers or kayaks"
  (``kayaks`` a conjunct of the lagoon): it is the negated noun's conjunct, inside the negation;
* a place hung on a verb's object: "reads a book in a cozy library" (the reading happens there);
* a preposition left without its object: "a kite flying over a village" (``flying -dobj-> village``); "down" or
  "through" read as a particle with the path as the verb's object: "otters drifting down a river" (round 8);
* a participle before a noun read as part of its name ("a steaming bowl"), a noun before a noun read as an
  adjective ("a lily pad");
* a comparative read as a compound noun when another comparative describes the same noun: "a brighter star above
  a dimmer star";
* a list of modifiers before one noun with one of them read as a noun or a verb: "a tall, slender and elegant
  candlestick", "a dusty, forgotten, cracked lantern" ("cracked" the root); joined by "yet" or "but": "a waterproof
  yet lightweight parka" (an entity "waterproof"), "a rugged yet elegant watch" ("yet elegant" one attribute; the
  word before "yet" a modifier even when new to the lemmatiser) (round 9);
* a plural subject and its plain verb after ", and" read as one noun or as a verb and its object ("..., and pigeons
  circle above it"), or the plural tagged a verb; a bare plural at the start tagged a verb and made the root before
  "in" ("goldfish in a glass aquarium");
* an infinitive of purpose hung on a verb's object as a relative clause: "climbs a ladder to reach an atlas" (the
  climber reaches it); a participle after two coordinated worn items: "a man in a jacket and a cap feeding pigeons";
* "past" after a participle read as an adjective of the next noun: "a tram rattling past brick houses";
* a colour noun as what "is" predicates ("whose tail is silver"): an adjective;
* a clause fronted by "on which" whose verb was tagged a noun with its plural subject as a compound, the count and
  material before them hung on the verb: "a ledge on which two clay owls perch" (round 8);
* a plural tagged a singular noun, whose "-s" the lemmatiser then keeps: "covered in dust and cobwebs"; read as a
  plural when the lemmatiser knows the singular as a noun and not the plural (round 8);
* the main verb after a relative clause with "is" and its adjective, read as a plural noun when a bare noun phrase
  follows: "a cook whose apron is dusty kneads soft dough" (checked against the lemmatiser's verbs), or tagged a
  verb with the adjective as its subject or adverb: "a painting whose frame is gold hangs on a wall";
* the main verb after a relative clause's plural object, read into it or as a second object of the clause's verb:
  "a sailboat that has crimson sails drifts toward an island" ("sails drifts" one noun), "a windmill that has
  broken blades creaks" ("has broken" a perfect tense);
* a second verb after "and", with an article after it, read as a plural noun (or a verb) coordinated with the
  first verb's place: "a ferryman sits on the pier and whittles a small wooden spoon" (the spoon his), or with the
  first verb: "A girl stands at the window and waves a scarf"; the first
  verb read into its subject, made the subject of the second: "A knight kneels by the river and washes a helmet";
* an adjective new to the tagger read as a noun among a noun's modifiers: "huge leathery wings" (one name),
  "shimmery scaly fins", "a waxy yellow skin" ("waxy" an entity), "analog film photo", or as an adverb: "gnarly
  knobbly fingers" (checked against the lemmatiser's word lists); a prose sentence's capitalised first word read as
  a name with the common noun after it: "Thick fog rolls over the harbor.";
* an adjective made the object of a preposition, the noun after it read as the root verb, an adverb or an
  adjective: "a monster with slimy rubbery tentacles" ("tentacles" a verb), "two brothers in matching striped
  shirts"; with a colour or material before the noun: "two sisters in matching yellow raincoats" ("yellow" made the
  object, round 9);
* an adjective before a noun new to the tagger and a participle read as the head, or with the noun as one name:
  "a squat tugboat chugging past a buoy" ("squat" the entity, "tugboat" a verb), "a plump houseboat bobbing";
* what "is" predicates, an adjective new to the tagger, tagged a noun or an adverb: "The old barn is rickety." (an
  entity "rickety"), "the crust is flaky" (no attribute);
* what a verb other than "is" says its subject is, an adjective new to the tagger, read as its object: "two egrets
  stand motionless" (an entity "motionless"), "a lake lies tranquil" (round 9);
* a participle-adjective tagged a noun before other modifiers of its noun: "the twins' matching yellow raincoats",
  "a crackling orange fire"; or made the head, with the noun after it hung on it: "a grinning clown with a red
  nose" (an entity "grinning");
* a relative clause's list of predicate adjectives, the ones after the comma hung on the noun or read as adverbs:
  "a lamp that is red, tall and slanted", "a dress that is blue, long and frilly" (round 9); a clause after "as"
  read as a preposition and its object: "flags flutter above a market as a merchant weighs apples" (the merchant
  is the clause's subject and stands alone); a participle after the object of "of" hung on "of" as its complement:
  "an illustration of a squirrel holding a flower" (the flower the squirrel's);
* a finite verb new to the tagger read into one noun with its subject and object, or as its object's subject: "a
  chef slices limes" (one name), "a kid flies kites" ("kid flies" the subject of "kites"): "a"/"an" cannot determine
  a plural head, nor a count a compound with a plural inside ("two weavers dye threads"), so the "-s" word (a known
  verb) is the verb and the bare plural after it its object; so is a bare singular before "while" or "as" ("A potter
  shapes clay while ...": the clause needs a main clause) (round 9);
* a plain verb after a plural subject (or a noun counted above one) read as a noun, its object or compound, after
  "while", "as" and the like or a preposition and "which": "... while sparks drift through the workshop" (an entity
  "drift"), "a glass tank in which three jellyfish drift", or the clause read as the object of "as" (round 9);
* a noun in "-ing" that names a thing tagged a participle after a preposition: "a cake covered in frosting and
  sprinkles" (no frosting), with the noun after its "and" hung on the first noun ("filled with stuffing and herbs")
  or read as the root verb ("a gingerbread house covered in icing and gumdrops": "gumdrops" a verb) (round 9);
* "as" or "while" before a clause read as a preposition with the clause's subject as its object: "... as an angler
  in a yellow raincoat casts a line" (the angler and the line nested under the first subject) (round 9);
* a participle after a verb's object read as a clause the verb takes, the object its subject: "a cat watches flies
  buzzing around a lamp" (the flies not the cat's) (round 9);
* a participle read into the noun before it: hung on it as a compound ("a toddler chasing bubbles": "toddler
  chasing" one name, the bubbles made its verb), the noun an adverbial or nominal modifier of the participle's object
  ("a toolbox holding wrenches": an entity "holding"), a compound of a participle in a sentence ("... and a crow
  pecking at a fallen apple"), or a proper noun as an adjective of an "-ing" noun with an object ("geese crossing a
  road"): the noun is the head, the participle hangs from it (round 9);
* a finite "-s" verb read into its subject before a bare singular mass noun, tagged an adjective or a verb and made
  the root: "a chemist pipes liquid into test tubes" ("chemist pipes" one name), "a baker dusts flour over the
  dough" (round 10);
* a bare plural at the start tagged an "-s" verb, with the participle after it as its complement or its auxiliary:
  "elves dancing around a bonfire", "squirrels gathering acorns" (the subject lost) (round 10);
* a plural with accented letters, which the lemmatiser's word lists do not know: "crêpes" keeps its "-s",
  "jalapeños" tagged singular (checked against the singular without accents) (round 10);
* the first of two colours joined by "and" read as the head noun, the noun after the second its conjunct: "a fluffy
  grey and white rabbit" (an entity "grey") (round 10);
* a participle after "and" read as a verb coordinated with the noun before it, the next noun its object: "a ceramic
  teapot and chipped blue cups" ("chipped" lost) (round 10);
* an adverb of place tagged a noun after a participle, as its adverb or object: "gulls circling overhead",
  "children resting downstairs" (an entity "overhead"; checked against the lemmatiser's adverbs) (round 10);
* after "while", a plural subject (an irregular one too), its plain verb read as a noun and the bare plural object
  after it as the verb: "... while children chase seagulls past the crates" (an entity "chase") (round 10);
* an "-s" verb read as a plural noun with its subject as a compound before a possessive pronoun: "The old fisherman
  mends his torn net" ("fisherman mends" one name) (round 10);
* a closing phrase of a plural and its participle after a comma, read as an apposition of the noun before it or
  with the plural as the root verb: "a postman sorting letters, cats sleeping nearby" (the cats nested), "...,
  crows watching nearby" (the crows lost): a scene of its own (round 10);
* a lemma that the lemmatiser's suffix rules made up: "ramen" -> "raman", "lens" -> "len": a changed noun lemma is
  kept only when the lemmatiser knows it as a noun or lists the word as an exception; irregular plurals it misses
  ("oxen") come from :data:`~attnmod.toolkit.prompt.words.IRREGULAR_PLURALS`.
"""

from __future__ import annotations

from .adjectives import (
    repair_adjective_read_as_head,
    repair_adjective_read_as_noun,
    repair_adjective_read_as_object,
    repair_complement_read_as_object,
    repair_participle_adjective_read_as_head,
    repair_predicate_read_as_noun,
)
from .clauses import (
    repair_participle_read_as_complement,
    repair_predicate_list,
    repair_subject_after_subordinator,
)
from .finite import (
    repair_clause_read_as_object,
    repair_participle_clause_as_object,
    repair_verb_after_plural_subject,
    repair_verb_read_into_subject,
)
from .lexical import (
    Lexicon,
    repair_bare_subject_read_as_verb,
    repair_comparative_read_as_noun,
    repair_hyphenated_modifiers,
    repair_modifier_across_comma,
    repair_noun_lemmas,
    repair_noun_modifier_read_as_adjective,
    repair_noun_read_as_adjective,
    repair_participle_adjective_read_as_noun,
    repair_participle_inside_compound,
    repair_plural_subject_compound,
    repair_verb_read_as_compound_head,
)
from .modifiers import repair_modifier_list
from .newwords import (
    repair_absolute_clause,
    repair_accented_plural,
    repair_adverb_read_as_noun,
    repair_bare_plural_before_participle,
    repair_colour_pair_read_as_head,
    repair_participle_conjunct_with_object,
    repair_verb_before_possessive,
)
from .participles import (
    repair_ing_noun_read_as_participle,
    repair_participle_head,
    repair_participle_modifier,
    repair_participle_on_worn_item,
    repair_participle_read_as_gerund,
    repair_participle_read_as_noun,
    repair_participle_with_article_subject,
    repair_preposition_read_as_adjective,
    repair_worn_conjunct,
)
from .phrases import (
    repair_adjective_hung_as_compound,
    repair_alternative_after_negation,
    repair_attribute_noun_head,
    repair_colour_predicate_noun,
    repair_colour_read_as_conjunct,
    repair_conjunct_of_object,
    repair_misplaced_article,
    repair_noun_with_subject,
    repair_number_noun,
    repair_numeral_root,
    repair_parallel_preposition,
    repair_path_particle,
    repair_place_on_object,
    repair_stranded_preposition,
    repair_subject_of_noun,
)
from .verbs import (
    repair_comparative_root,
    repair_coordinated_verb,
    repair_noun_read_as_verb,
    repair_noun_read_as_verb_with_subject,
    repair_purpose_read_as_relative,
    repair_stranded_predicate,
    repair_verb_after_copular_clause,
    repair_verb_after_relative_clause,
    repair_verb_after_relative_object,
    repair_verb_coordinated_after_object,
    repair_verb_read_as_plural,
    repair_verb_read_as_predicate_noun,
    repair_verbless_predicate,
)


def repair(doc, lexicon: Lexicon | None):
    repair_hyphenated_modifiers(doc)
    repair_ing_noun_read_as_participle(doc)
    repair_clause_read_as_object(doc)
    repair_participle_clause_as_object(doc)
    if lexicon is not None:
        repair_verb_read_into_subject(doc, lexicon)
        repair_verb_before_possessive(doc, lexicon)
        repair_verb_after_plural_subject(doc, lexicon)
        repair_noun_modifier_read_as_adjective(doc, lexicon)
        repair_participle_inside_compound(doc, lexicon)
        repair_verb_read_as_compound_head(doc, lexicon)
        repair_plural_subject_compound(doc, lexicon)
        repair_bare_subject_read_as_verb(doc, lexicon)
        repair_bare_plural_before_participle(doc, lexicon)
        repair_adverb_read_as_noun(doc, lexicon)
        repair_absolute_clause(doc, lexicon)
        repair_noun_read_as_adjective(doc, lexicon)
        repair_adjective_read_as_object(doc, lexicon)
        repair_adjective_read_as_head(doc, lexicon)
        repair_predicate_read_as_noun(doc, lexicon)
        repair_complement_read_as_object(doc, lexicon)
        repair_participle_adjective_read_as_head(doc, lexicon)
        repair_verb_after_copular_clause(doc, lexicon)
        repair_verb_after_relative_object(doc, lexicon)
        repair_verb_coordinated_after_object(doc, lexicon)
        repair_modifier_across_comma(doc, lexicon)
        repair_modifier_list(doc, lexicon)
    repair_misplaced_article(doc)
    repair_participle_with_article_subject(doc)
    repair_colour_read_as_conjunct(doc)
    repair_colour_pair_read_as_head(doc)
    repair_participle_conjunct_with_object(doc)
    repair_colour_predicate_noun(doc)
    repair_noun_read_as_verb_with_subject(doc)
    repair_adjective_hung_as_compound(doc)
    repair_participle_read_as_noun(doc)
    repair_preposition_read_as_adjective(doc)
    repair_participle_head(doc, lexicon)
    for step in (
        repair_participle_modifier,
        repair_comparative_root,
        repair_verb_read_as_plural,
        repair_verb_read_as_predicate_noun,
        repair_stranded_predicate,
        repair_verb_after_relative_clause,
        repair_noun_with_subject,
        repair_numeral_root,
        repair_number_noun,
        repair_noun_read_as_verb,
        repair_coordinated_verb,
        repair_verbless_predicate,
        repair_stranded_preposition,
        repair_path_particle,
        repair_place_on_object,
        repair_purpose_read_as_relative,
        repair_worn_conjunct,
        repair_participle_on_worn_item,
        repair_participle_read_as_gerund,
        repair_subject_of_noun,
        repair_parallel_preposition,
        repair_attribute_noun_head,
        repair_conjunct_of_object,
        repair_alternative_after_negation,
        repair_predicate_list,
        repair_subject_after_subordinator,
        repair_participle_read_as_complement,
    ):
        step(doc)
    if lexicon is not None:
        repair_adjective_read_as_noun(doc, lexicon)
        repair_comparative_read_as_noun(doc, lexicon)
        repair_participle_adjective_read_as_noun(doc, lexicon)
        repair_noun_lemmas(doc, lexicon)
        repair_accented_plural(doc, lexicon)
    return doc
