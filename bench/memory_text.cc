// Vocabularies and sentence shapes of the memory benchmark's generated text.
#include "bench/memory_text.h"

#include "absl/strings/str_cat.h"

namespace llive::bench {
namespace {

const char* const kNames[] = {
    "Hana",   "Tom",   "Priya",  "Lucas", "Mei",   "Omar",  "Sofia", "Kenji", "Anna", "David",
    "Fatima", "Yuki",  "Carlos", "Elena", "Ravi",  "Chloe", "Ivan",  "Aiko",  "Ben",  "Zara",
    "Noah",   "Leila", "Marco",  "Sara",  "Jonas", "Nina",  "Felix", "Amara", "Hugo", "Ines"};
const char* const kNouns[] = {
    "report",      "meeting",      "budget",       "printer",     "garden",     "invoice",
    "train",       "dentist",      "laptop",       "contract",    "recipe",     "flight",
    "birthday",    "server",       "kitchen",      "bicycle",     "library",    "concert",
    "deadline",    "apartment",    "presentation", "ticket",      "doctor",     "camera",
    "umbrella",    "package",      "schedule",     "database",    "holiday",    "vaccine",
    "guitar",      "newsletter",   "warehouse",    "spreadsheet", "battery",    "museum",
    "password",    "carpet",       "telescope",    "lantern",     "bakery",     "harbor",
    "violin",      "tractor",      "pharmacy",     "passport",    "glacier",    "orchard",
    "compiler",    "subscription", "marathon",     "festival",    "mortgage",   "podcast",
    "microscope",  "wardrobe",     "ferry",        "satellite",   "thermostat", "sculpture",
    "notebook",    "keyboard",     "playground",   "backpack",    "workshop",   "balcony",
    "chimney",     "elevator",     "aquarium",     "lighthouse",  "vineyard",   "monastery",
    "observatory", "canoe"};
const char* const kVerbsPast[] = {
    "moved",    "booked",       "cancelled", "fixed",     "forgot",      "ordered",
    "reviewed", "painted",      "returned",  "signed",    "shipped",     "visited",
    "borrowed", "cleaned",      "sold",      "found",     "lost",        "repaired",
    "planned",  "photographed", "measured",  "delivered", "rescheduled", "translated",
    "recorded", "inspected",    "replaced",  "decorated", "uploaded",    "tested"};
const char* const kVerbs[] = {"call",    "check", "renew",  "email",  "pick up", "finish",
                              "compare", "water", "backup", "update", "pay",     "confirm",
                              "prepare", "print", "clean",  "book",   "review",  "share"};
const char* const kAdjectives[] = {"new",     "old",    "broken",  "expensive", "quiet",
                                   "crowded", "red",    "heavy",   "late",      "urgent",
                                   "small",   "wooden", "shared",  "noisy",     "fragile",
                                   "digital", "annual", "overdue", "cheerful",  "secret",
                                   "frozen",  "narrow", "sunny",   "forgotten", "spare"};
const char* const kPlaces[] = {
    "Osaka",       "Berlin", "Lisbon",     "the office", "Toronto",    "the station",
    "Nairobi",     "Kyoto",  "the clinic", "Madrid",     "the school", "Seoul",
    "the airport", "Oslo",   "the market", "Lima",       "the hotel",  "Cairo",
    "the park",    "Dublin", "Hanoi",      "the lab",    "Quebec"};
const char* const kDays[] = {"Monday",   "Tuesday", "Wednesday", "Thursday", "Friday",
                             "Saturday", "Sunday",  "next week", "tomorrow", "last night"};

const char* const kJaNames[] = {"田中", "佐藤", "鈴木", "高橋", "伊藤", "渡辺",
                                "山本", "中村", "小林", "加藤", "吉田", "山田"};
const char* const kJaNouns[] = {"会議",     "報告書", "予算",   "旅行", "病院",     "新幹線",
                                "誕生日",   "契約",   "料理",   "荷物", "パソコン", "自転車",
                                "図書館",   "映画",   "請求書", "傘",   "カメラ",   "宿題",
                                "引っ越し", "花火",   "温泉",   "試験", "写真",     "手紙"};
const char* const kJaPlaces[] = {"東京", "大阪", "京都", "札幌", "福岡", "名古屋",
                                 "横浜", "神戸", "駅",   "会社", "学校", "空港"};
const char* const kJaVerbs[] = {"予約しました",       "忘れました", "確認しました", "送りました",
                                "キャンセルしました", "直しました", "買いました",   "見つけました",
                                "準備しました",       "話しました"};
const char* const kJaDays[] = {"月曜日", "火曜日", "水曜日", "木曜日", "金曜日",
                               "週末",   "明日",   "昨日",   "来週",   "先月"};

}  // namespace

std::string MemoryText::EnglishSentence() {
  switch (random_() % 8) {
    case 0:
      return absl::StrCat(Pick(kNames), " ", Pick(kVerbsPast), " the ", Pick(kAdjectives), " ",
                          Pick(kNouns), " in ", Pick(kPlaces), " on ", Pick(kDays), ".");
    case 1:
      return absl::StrCat("I think we should ", Pick(kVerbs), " the ", Pick(kNouns), " before ",
                          Pick(kDays), ", because the ", Pick(kNouns), " is ", Pick(kAdjectives),
                          ".");
    case 2:
      return absl::StrCat("Can you remind me to ", Pick(kVerbs), " ", Pick(kNames), "'s ",
                          Pick(kNouns), " at ", 7 + random_() % 12, " o'clock?");
    case 3:
      return absl::StrCat("The ", Pick(kNouns), " at ", Pick(kPlaces), " was ", Pick(kAdjectives),
                          " and ", Pick(kNames), " ", Pick(kVerbsPast), " it.");
    case 4:
      return absl::StrCat("My ", Pick(kAdjectives), " ", Pick(kNouns), " cost ",
                          10 + random_() % 990, " dollars, more than the ", Pick(kNouns), ".");
    case 5:
      return absl::StrCat(Pick(kNames), " said the ", Pick(kNouns), " in ", Pick(kPlaces),
                          " will be ", Pick(kAdjectives), " until ", Pick(kDays), ".");
    case 6:
      return absl::StrCat("We ", Pick(kVerbsPast), " the ", Pick(kNouns), " with ", Pick(kNames),
                          " and ", Pick(kNames), " after the ", Pick(kNouns), ".");
    default:
      return absl::StrCat("Note: ", Pick(kVerbs), " the ", Pick(kAdjectives), " ", Pick(kNouns),
                          " for ", Pick(kNames), " (ref ", random_() % 100000, ").");
  }
}

std::string MemoryText::JapaneseSentence() {
  switch (random_() % 3) {
    case 0:
      return absl::StrCat(Pick(kJaNames), "さんは", Pick(kJaDays), "に", Pick(kJaPlaces), "で",
                          Pick(kJaNouns), "を", Pick(kJaVerbs), "。");
    case 1:
      return absl::StrCat(Pick(kJaDays), "の", Pick(kJaNouns), "について", Pick(kJaNames),
                          "さんと話しました。");
    default:
      return absl::StrCat(Pick(kJaPlaces), "の", Pick(kJaNouns), "は", 1 + random_() % 9,
                          "時からです。");
  }
}

}  // namespace llive::bench
