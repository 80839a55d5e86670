#!/usr/bin/env python3
"""Writes corpus.txt: short, templated stories about users, their requests and hidden preferences.

Deterministic (fixed seed), pure standard library. The text has real structure (agreement between
name and pronoun, topic-specific vocabulary, a request followed by a matching plan) so that a
small model trained on it does much better than the unigram entropy. Usage: python3 make_corpus.py
"""
import random

rng = random.Random(20261130)

PEOPLE = [("Mara", "she", "her"), ("Tom", "he", "his"), ("Ines", "she", "her"), ("Ravi", "he", "his"),
          ("Lena", "she", "her"), ("Omar", "he", "his"), ("Yuki", "she", "her"), ("Paul", "he", "his"),
          ("Ada", "she", "her"), ("Karl", "he", "his"), ("Noor", "she", "her"), ("Sam", "he", "his")]
TOPICS = {
    "Home Cooking": ("cook a quick dinner", ["a pan", "fresh herbs", "rice", "a simple soup"], "the kitchen"),
    "Personal Finance": ("save money each month", ["a budget", "a savings plan", "the bank app", "a spending list"], "the bank"),
    "Family Care": ("help an elderly parent", ["a weekly call", "a visit plan", "a medicine box", "a shared calendar"], "home"),
    "Smart Home": ("set up the new lights", ["a hub", "the phone app", "a timer", "motion sensors"], "the living room"),
    "Time Management": ("finish work on time", ["a short list", "a timer", "a calendar", "quiet hours"], "the office"),
    "Gift Giving": ("choose a birthday gift", ["a book", "a plant", "a handmade card", "a small voucher"], "the shop"),
    "Moving & Relocation": ("move to a new city", ["boxes", "a moving van", "a checklist", "a new lease"], "the new flat"),
    "Personal Safety": ("walk home safely at night", ["a lit route", "a friend on call", "a charged phone", "a taxi app"], "the street"),
    "Weather Planning": ("plan a trip despite the rain", ["a forecast", "a warm coat", "an indoor backup", "boots"], "the coast"),
    "Medical Care": ("book a doctor visit", ["the clinic site", "a list of questions", "the insurance card", "a reminder"], "the clinic"),
}
PREFS = [("privacy", "does not want to share personal data", "keeps the data on the device"),
         ("autonomy", "wants to decide without being pushed", "offers choices instead of rules"),
         ("low cost", "has a tight budget this month", "uses what is already at hand"),
         ("little time", "has only a few minutes each day", "keeps every step short"),
         ("safety", "worries about what could go wrong", "checks each risk before acting"),
         ("calm", "feels stressed by too many messages", "sends one short update a week")]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def story():
    name, subj, poss = rng.choice(PEOPLE)
    topic, (goal, items, place) = rng.choice(list(TOPICS.items()))
    pref, cue, remedy = rng.choice(PREFS)
    a, b = rng.sample(items, 2)
    day = rng.choice(DAYS)
    Subj = subj.capitalize()
    lines = [
        f"Topic: {topic}.",
        f"{name} wants to {goal}. {Subj} {cue}.",
        f"{Subj} asks: how can I {goal} by {day}?",
        f"The hidden preference is {pref}. A careful helper {remedy}.",
        f"Step 1: {name} gets {a} ready at {place}.",
        f"Step 2: {Subj} uses {b} and checks the plan on {day}.",
    ]
    if rng.random() < 0.5:
        lines.append(f"Step 3: {name} keeps {poss} own pace, because {pref} matters to {poss} plan.")
    lines.append(f"Answer: {name} can {goal} with {a} and {b}, and the plan respects {poss} wish for {pref}.")
    return "\n".join(lines) + "\n\n"


with open("corpus.txt", "w") as fh:
    size = 0
    while size < 240_000:
        s = story()
        fh.write(s)
        size += len(s.encode())
print("wrote corpus.txt")
