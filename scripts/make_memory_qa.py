#!/usr/bin/env python3
"""Writes bench/data/memory_qa.jsonl: the labelled retrieval set of bench/memory_bench.

Multi-session conversations between users and an assistant, in English and Japanese, written
from the templates below (all written for llive), and questions whose answers are specific
turns. Every conversation of one language is stored in one agent's memory, so a question must
find its user's turn among everyone's: the user's name and the fact's words both matter.
Deterministic (fixed seed): run it again to get the same file.
"""
import json
import random
import sys

rng = random.Random(20261128)

EN_USERS = ["Maya", "Oliver", "Priya", "Lucas", "Sofia", "Kenji", "Amara", "David", "Leila",
            "Tomasz", "Ines", "Ravi", "Chloe", "Ivan", "Aiko", "Benedikt", "Zara", "Noah",
            "Fatima", "Marco", "Sara", "Jonas", "Nina", "Felix", "Hugo", "Elena", "Omar",
            "Grace", "Mateo", "Hannah"]
JA_USERS = ["田中", "佐藤", "鈴木", "高橋", "伊藤", "渡辺", "山本", "中村", "小林", "加藤",
            "吉田", "山田", "佐々木", "松本", "井上", "木村", "林", "清水", "山口", "森"]

PETS = [("dog", "Biscuit"), ("cat", "Miso"), ("parrot", "Captain"), ("rabbit", "Clover"),
        ("hamster", "Peanut"), ("tortoise", "Sheldon"), ("dog", "Pepper"), ("cat", "Luna")]
JOBS = [("nurse", "St. Mary's hospital"), ("data analyst", "a shipping company"),
        ("teacher", "the Riverside primary school"), ("chef", "a ramen bar downtown"),
        ("architect", "a small studio in the old town"), ("pilot", "a regional airline"),
        ("librarian", "the city library"), ("mechanic", "a bicycle workshop")]
RELATIVES = ["sister", "brother", "cousin", "mother", "uncle", "grandmother"]
CITIES = ["Osaka", "Lisbon", "Toronto", "Nairobi", "Melbourne", "Oslo", "Lima", "Hanoi",
          "Krakow", "Denver", "Seville", "Glasgow"]
FOODS = ["peanuts", "shellfish", "sesame", "kiwi", "gluten", "eggs", "strawberries"]
EVENTS = ["conference", "job interview", "wedding", "marathon", "workshop", "reunion"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
INSTRUMENTS = ["cello", "piano", "violin", "drums", "saxophone", "ukulele", "flute"]
MONTHS = ["January", "March", "April", "June", "August", "October", "November"]
CARS = ["van", "hatchback", "pickup", "scooter", "station wagon"]
COLORS = ["red", "silver", "green", "white", "blue"]

EN_FILLER = [
    "{u}: Morning! Busy day ahead, lots of emails to answer.",
    "Assistant: Good morning, {u}. Want me to sort your inbox by priority?",
    "{u}: Thanks, that helped. Let's continue tomorrow.",
    "Assistant: Of course, {u}. I'll keep notes of what we discussed.",
    "{u}: The weather is awful today, it hasn't stopped raining.",
    "Assistant: Sounds like a good day to stay in, {u}. Anything you'd like to plan?",
    "{u}: Can you summarise what we talked about last time?",
    "Assistant: Sure, {u}. We covered your plans and a few reminders.",
    "{u}: I'm a bit tired, I didn't sleep well last night.",
    "Assistant: Sorry to hear that, {u}. Maybe a short walk would help.",
    "{u}: Remind me to water the plants this evening.",
    "Assistant: Reminder set for this evening, {u}.",
]

JA_FILLER = [
    "{u}：おはようございます。今日はメールがたくさんあります。",
    "アシスタント：おはようございます、{u}さん。優先順位をつけましょうか。",
    "{u}：ありがとう、助かりました。続きはまた明日。",
    "アシスタント：承知しました、{u}さん。メモを残しておきます。",
    "{u}：今日は一日中雨が降っています。",
    "アシスタント：{u}さん、家でゆっくりするのも良いですね。",
    "{u}：前回話したことをまとめてもらえますか。",
    "アシスタント：はい、{u}さん。予定とリマインダーについて話しました。",
    "{u}：昨日はあまり眠れませんでした。",
    "アシスタント：{u}さん、少し散歩すると良いかもしれません。",
]

JA_PETS = [("犬", "ポチ"), ("猫", "タマ"), ("インコ", "ピーちゃん"), ("うさぎ", "モカ"),
           ("ハムスター", "きなこ"), ("猫", "ミケ")]
JA_JOBS = [("看護師", "市立病院"), ("エンジニア", "ゲーム会社"), ("先生", "近くの小学校"),
           ("料理人", "駅前のレストラン"), ("薬剤師", "大学病院"), ("デザイナー", "広告代理店")]
JA_RELATIVES = ["姉", "兄", "妹", "弟", "母", "いとこ"]
JA_CITIES = ["札幌", "福岡", "仙台", "金沢", "那覇", "広島", "神戸", "長野"]
JA_FOODS = ["そば", "卵", "えび", "牛乳", "小麦", "ピーナッツ"]
JA_EVENTS = ["結婚式", "面接", "学会", "マラソン大会", "同窓会", "研修"]
JA_DAYS = ["月曜日", "火曜日", "水曜日", "木曜日", "金曜日", "土曜日"]
JA_INSTRUMENTS = ["ピアノ", "ギター", "バイオリン", "三味線", "ドラム", "フルート"]


def en_facts(u):
    pet, pet_name = rng.choice(PETS)
    job, company = rng.choice(JOBS)
    relative, city = rng.choice(RELATIVES), rng.choice(CITIES)
    food = rng.choice(FOODS)
    event, day, day2 = rng.choice(EVENTS), *rng.sample(WEEKDAYS, 2)
    trip_city = rng.choice([c for c in CITIES if c != city])
    instrument, months = rng.choice(INSTRUMENTS), rng.randint(2, 11)
    month = rng.choice(MONTHS)
    car, color = rng.choice(CARS), rng.choice(COLORS)
    age = rng.randint(4, 15)
    return [
        ([f"{u}: We adopted a {pet} in {month} and named it {pet_name}."],
         [f"What is the name of {u}'s {pet}?", f"What did {u} call the new pet?"]),
        ([f"{u}: Big news, I got hired as a {job} at {company}."],
         [f"Where does {u} work now?", f"What is {u}'s new job?"]),
        ([f"{u}: My {relative} relocated to {city} a few weeks ago."],
         [f"Which city does {u}'s {relative} live in now?", f"Where did {u}'s {relative} move?"]),
        ([f"{u}: Please remember I'm allergic to {food}, so no recipes with it."],
         [f"What is {u} allergic to?", f"Which food should recipes for {u} avoid?"]),
        ([f"{u}: I'm flying to {trip_city} on {day} for a {event}.",
          f"{u}: Change of plans, the {event} in {trip_city} moved to {day2}."],
         [f"What day is {u}'s {event} in {trip_city} now?",
          f"When does {u} travel for the {event}?"]),
        ([f"{u}: I've been practising the {instrument} for {months} months now."],
         [f"Which instrument is {u} learning?", f"What musical instrument does {u} practise?"]),
        ([f"{u}: My {color} {car} broke down again on the way to work."],
         [f"What happened to {u}'s {car}?", f"Did {u} have car trouble?"]),
        ([f"{u}: My daughter turns {age} on the {rng.randint(2, 28)}th of {month}."],
         [f"When is the birthday of {u}'s daughter?", f"How old will {u}'s daughter be?"]),
    ]


def ja_facts(u):
    pet, pet_name = rng.choice(JA_PETS)
    job, company = rng.choice(JA_JOBS)
    relative, city = rng.choice(JA_RELATIVES), rng.choice(JA_CITIES)
    food = rng.choice(JA_FOODS)
    event, day, day2 = rng.choice(JA_EVENTS), *rng.sample(JA_DAYS, 2)
    instrument = rng.choice(JA_INSTRUMENTS)
    return [
        ([f"{u}：先月{pet}を飼い始めて、名前は{pet_name}にしました。"],
         [f"{u}さんの{pet}の名前は何ですか？", f"{u}さんが飼い始めたペットは何という名前？"]),
        ([f"{u}：{company}で{job}として働くことになりました。"],
         [f"{u}さんの新しい仕事は何ですか？", f"{u}さんはどこで働いていますか？"]),
        ([f"{u}：{relative}が{city}に引っ越しました。"],
         [f"{u}さんの{relative}はどこに住んでいますか？", f"{u}さんの{relative}の引っ越し先は？"]),
        ([f"{u}：{food}のアレルギーがあるので気をつけてください。"],
         [f"{u}さんのアレルギーは何ですか？", f"{u}さんが食べられないものは？"]),
        ([f"{u}：{day}に{event}があります。", f"{u}：{event}は{day2}に変更になりました。"],
         [f"{u}さんの{event}は何曜日になりましたか？", f"{u}さんの{event}の日程は？"]),
        ([f"{u}：最近{instrument}を習い始めました。"],
         [f"{u}さんが習っている楽器は？", f"{u}さんは何の楽器を練習していますか？"]),
    ]


def conversation(lang, index, user, facts_of, filler, per_user):
    facts = facts_of(user)
    chosen = rng.sample(range(len(facts)), per_user)
    sessions = [[] for _ in range(3)]
    for n, k in enumerate(chosen):
        turns, _ = facts[k]
        for t, text in enumerate(turns):
            # An update lands in a later session than what it updates.
            sessions[min(2, n % 3 + t)].append((k, text))
    lines, answers = [], {}
    for s, session in enumerate(sessions):
        texts = [(None, f.format(u=user)) for f in rng.sample(filler, 4)] + session
        rng.shuffle(texts)
        for t, (k, text) in enumerate(texts):
            turn_id = f"{lang}-{index:02d}-s{s + 1}-t{t + 1:02d}"
            lines.append({"type": "turn", "lang": lang, "conversation": f"{lang}-{index:02d}",
                          "session": s + 1, "id": turn_id, "text": text})
            if k is not None:
                answers.setdefault(k, []).append(turn_id)
    questions = []
    for k in chosen:
        question = rng.choice(facts[k][1])
        questions.append({"type": "question", "lang": lang,
                          "conversation": f"{lang}-{index:02d}", "question": question,
                          "answers": answers[k]})
    return lines, questions


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "bench/data/memory_qa.jsonl"
    records = []
    for i, user in enumerate(EN_USERS):
        turns, questions = conversation("en", i, user, en_facts, EN_FILLER, 5)
        records += turns + questions
    for i, user in enumerate(JA_USERS):
        turns, questions = conversation("ja", i, user, ja_facts, JA_FILLER, 5)
        records += turns + questions
    with open(out, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"{out}: {sum(r['type'] == 'turn' for r in records)} turns, "
          f"{sum(r['type'] == 'question' for r in records)} questions")


if __name__ == "__main__":
    main()
