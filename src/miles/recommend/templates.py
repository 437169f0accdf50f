"""The offline idea generator's idea shapes, one set per language it writes: titles and hooks are what a creator
posts and films, so a French niche gets French ones (the reasoning around them stays in the interface's English)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Template:
    """One idea shape with typed slots: ``{x}`` the topic noun phrase, ``{n}`` a number; ``pattern`` is the niche
    pattern it leans on (a key of ``patterns.pattern_masks``), ``seconds`` its usual length. English titles read
    right whether the topic is singular or plural, countable or not ("ssd upgrade", "sourdough", "laptop tips"): the
    topic is never a verb's subject or a noun's modifier ("Is laptop tips worth it", "3 laptop tips tips"), nor the
    object of a verb or preposition, where a singular one needs an article the template cannot know ("if you get
    SSD upgrade wrong"): it heads the title ("SSD upgrade: ...") or stands where a bare noun phrase reads right."""

    format: str
    title: str
    hook: str
    pattern: str | None = None
    seconds: float = 40.0
    vibes: tuple[str, ...] = ()  # the vibes it suits best; empty: any
    longer: str = ""  # appended to ``title`` for a fuller one, when the niche's winning titles are long


TEMPLATES: tuple[Template, ...] = (
    Template("list", "{X}: {n} mistakes beginners make", "Put “mistake #1” on screen in the first frame.",
             "number", 45, longer=" (and how to avoid every one of them)"),
    Template("list", "{X}: {n} things I wish I knew sooner", "Count down from {n} on screen, fastest tip first.",
             "number", longer=", before I wasted my first month"),
    Template("myth test", "{X}: {n} myths, tested", "Open on the myth in big letters, then the verdict stamp.",
             "number", longer=" one by one on camera, so you don't have to"),
    Template("rating", "{X}: I rated {n} viral hacks", "Show the score card before the first hack.", "number", 50,
             ("funny",), longer=" from useless to genuinely brilliant"),
    Template("tutorial", "{X} for beginners in {n} simple steps",
             "Show the finished result, then rewind to step 1.", "number", 55, ("educational",),
             longer=", no experience or special gear needed"),
    Template("challenge", "{X}: my {n}-day challenge", "Open on day {n} first, then jump back to day 1.", "number", 50,
             ("hype", "dramatic"), longer=", with honest results from every single day"),
    Template("question", "{X} in {year}: worth it?", "Ask the question on screen and answer it in one word.",
             "question", 35, longer=" My honest verdict after a month of testing"),
    Template("question", "{X}: why does nobody talk about this one?", "Start mid-trick with no introduction.",
             "question", 30, longer=" Here is how it works, step by step"),
    Template("question", "{X}: what happens if you get this wrong?", "Open on the failed result, then explain the fix.",
             "question", 35, ("educational", "dramatic"), longer=" I tested it so you don't have to"),
    Template("comparison", "{X}, cheap vs expensive: can you tell?", "Put both side by side in the first frame.",
             None, 40, ("funny", "hype"), longer=" Try to guess before the reveal"),
    Template("explainer", "{X} explained in 30 seconds", "State the one-sentence answer before anything else.",
             None, 30, ("educational",), longer=", everything a beginner needs to know"),
    Template("explainer", "{X}: the science, made simple", "Show the close-up that makes the difference first.",
             None, 45, ("educational",), longer=" enough for anyone to follow"),
    Template("story", "{X}: my first try went completely wrong",
             "Open on the disaster, then “here is what happened”.", None, 45, ("dramatic", "funny"),
             longer=", and here is what I learned"),
    Template("story", "{X}: the mistake that cost me a week", "Show the ruined result with a time stamp on screen.",
             None, 40, ("dramatic",), longer=", and how you can avoid it"),
    Template("POV", "POV: {x} for the very first time", "Film from your own eyes, hands already in frame.", None, 20,
             ("funny",), longer=", and nothing goes to plan"),
    Template("routine", "{X}: a slow, cozy session", "Open on a calm close-up with natural sound, no talking.",
             None, 45, ("cozy", "chill"), longer=" with natural sound and no rush at all"),
    Template("routine", "{X} on a Sunday morning, start to finish",
             "Start with the light and the first sound of the work.", None, 50, ("cozy", "chill"),
             longer=", with no cuts and no rush"),
    Template("ASMR", "{X} with no talking, just sound", "Open on the loudest satisfying sound of the process.",
             None, 40, ("cozy", "chill"), longer=", from the first step to the last"),
    Template("speedrun", "{X} against the clock: beat my time", "Start the timer on screen in the first frame.",
             None, 35, ("hype",), longer=" if you think you can do it faster"),
    Template("before/after", "{X} before and after: one change", "Show the after first, then cut to the before.",
             None, 30, longer=" that made all the difference"),
    Template("budget", "{X} on a tiny budget", "Show the receipt total in the first frame.", None, 40,
             longer=", with every cost shown on screen"),
    Template("secret", "{X}: the detail pros never skip", "Zoom on the detail before saying a word.", None, 30,
             longer=" and beginners almost always miss"),
    Template("reaction", "{X}: reacting to the best on the internet", "Open on your face at the wildest moment.",
             None, 45, ("funny", "hype"), longer=" and rating every single one"),
    Template("checklist", "{X}: everything you need, nothing more", "Lay every item out in the first frame.",
             None, 35, ("educational",), longer=", in one simple checklist"),
)  # fmt: skip

# The same shapes in French, written as "{X} : ..." where English puts the topic inside the sentence: a topic is
# typed as a bare noun phrase ("astuces tech"), and French would need an article of the right gender before it.
TEMPLATES_FR: tuple[Template, ...] = (
    Template("list", "{X} : {n} erreurs de débutant", "Affiche « erreur n°1 » à l'écran dès la première image.",
             "number", 45, longer=" (et comment les éviter toutes)"),
    Template("list", "{X} : {n} conseils que j'aurais aimé connaître plus tôt",
             "Compte à rebours de {n} à l'écran, le conseil le plus rapide d'abord.", "number",
             longer=", avant de perdre des mois"),
    Template("myth test", "{X} : {n} idées reçues, testées", "Ouvre sur l'idée reçue en gros, puis le verdict.",
             "number", longer=" pour que tu n'aies pas à le faire"),
    Template("rating", "{X} : je note {n} astuces virales", "Montre la note avant la première astuce.", "number", 50,
             ("funny",), longer=", de l'inutile au vraiment génial"),
    Template("tutorial", "{X} : se lancer en {n} étapes simples", "Montre le résultat final, puis reviens à l'étape 1.",
             "number", 55, ("educational",), longer=", sans aucune expérience"),
    Template("challenge", "{X} pendant {n} jours : mon bilan", "Ouvre sur le jour {n}, puis reviens au jour 1.",
             "number", 50, ("hype", "dramatic"), longer=" honnête, jour après jour"),
    Template("question", "{X} : est-ce que ça vaut le coup en {year} ?",
             "Pose la question à l'écran et réponds en un mot.", "question", 35,
             longer=" Mon avis après un mois de tests"),
    Template("question", "{X} : pourquoi personne ne parle de cette astuce ?",
             "Commence en pleine action, sans intro.", "question", 30, longer=" Voici comment elle marche"),
    Template("question", "{X} : que se passe-t-il si on se trompe ?",
             "Ouvre sur le résultat raté, puis explique comment corriger.", "question", 35,
             ("educational", "dramatic"), longer=" J'ai testé pour toi"),
    Template("comparison", "{X} pas cher vs cher : tu vois la différence ?",
             "Mets les deux côte à côte dès la première image.", None, 40, ("funny", "hype"),
             longer=" Devine avant la réponse"),
    Template("explainer", "{X} : l'essentiel en 30 secondes", "Donne la réponse en une phrase avant tout le reste.",
             None, 30, ("educational",), longer=", tout ce qu'un débutant doit savoir"),
    Template("explainer", "{X} : la science derrière, simplement",
             "Montre d'abord le gros plan qui fait la différence.", None, 45, ("educational",),
             longer=", pour que tout le monde comprenne"),
    Template("story", "{X} : ma première fois a mal tourné",
             "Ouvre sur la catastrophe, puis « voilà ce qui s'est passé ».", None, 45, ("dramatic", "funny"),
             longer=", et voici ce que j'en ai appris"),
    Template("story", "{X} : l'erreur qui m'a coûté une semaine", "Montre le résultat raté avec la date à l'écran.",
             None, 40, ("dramatic",), longer=", et comment l'éviter"),
    Template("POV", "POV : ta toute première fois, {x}", "Filme de tes propres yeux, les mains déjà dans le cadre.",
             None, 20, ("funny",), longer=", et rien ne se passe comme prévu"),
    Template("routine", "{X} : une session lente et cosy", "Ouvre sur un gros plan calme, son naturel, sans parler.",
             None, 45, ("cozy", "chill"), longer=", avec le son naturel et sans rien presser"),
    Template("routine", "{X} un dimanche matin, du début à la fin",
             "Commence par la lumière et le premier son du travail.", None, 50, ("cozy", "chill"),
             longer=", sans coupe et sans se presser"),
    Template("ASMR", "{X} sans parler, juste le son", "Ouvre sur le son le plus satisfaisant du process.", None, 40,
             ("cozy", "chill"), longer=", de la première à la dernière étape"),
    Template("speedrun", "{X} en speedrun : bats mon temps", "Lance le chrono à l'écran dès la première image.", None,
             35, ("hype",), longer=" si tu penses faire plus vite"),
    Template("before/after", "{X} avant/après : un seul changement", "Montre l'après d'abord, puis coupe sur l'avant.",
             None, 30, longer=" qui fait toute la différence"),
    Template("budget", "{X} avec un tout petit budget", "Montre le total du ticket de caisse dès la première image.",
             None, 40, longer=", chaque dépense montrée à l'écran"),
    Template("secret", "{X} : le détail que les pros ne zappent jamais", "Zoome sur le détail avant de dire un mot.",
             None, 30, longer=" et que les débutants oublient"),
    Template("reaction", "{X} : je réagis au meilleur d'internet", "Ouvre sur ta tête au moment le plus fou.", None,
             45, ("funny", "hype"), longer=" et je note chaque vidéo"),
    Template("checklist", "{X} : tout ce qu'il faut, rien de plus", "Pose chaque élément dans la première image.",
             None, 35, ("educational",), longer=", en une seule checklist"),
)  # fmt: skip
BY_LANGUAGE: dict[str, tuple[Template, ...]] = {"en": TEMPLATES, "fr": TEMPLATES_FR}
DEFAULT_LANGUAGE = "en"


def templates_for(language: str | None) -> tuple[str, tuple[Template, ...]]:
    """(the language written, its templates): the niche's language when there is a set for it, else English."""
    code = language if language in BY_LANGUAGE else DEFAULT_LANGUAGE
    return code, BY_LANGUAGE[code]
