#!/usr/bin/env node
// Writes corpora/lighthouse.txt: the log of an imaginary lighthouse keeper, one entry a day, made from
// templates and word lists written for this project. Deterministic: the same bytes on every run.
//   node corpora/make-lighthouse.mjs
import { writeFileSync } from 'node:fs';
import { seededRandom } from './random.mjs';

const { random, pick, chance } = seededRandom(20261124);
const fill = (template) => template.replace(/\{(\w+)\}/g, (_, key) => pick(WORDS[key]));

const WORDS = {
  wind: ['north', 'north-east', 'east', 'south-east', 'south', 'south-west', 'west', 'north-west'],
  force: ['calm', 'light', 'a gentle breeze', 'fresh', 'strong', 'a near gale', 'a gale', 'a full storm'],
  sky: ['clear', 'overcast', 'grey and low', 'broken cloud', 'high thin cloud', 'heavy with rain', 'full of stars', 'the colour of pewter'],
  sea: ['flat', 'slight', 'moderate', 'rough', 'very rough', 'high', 'glassy', 'confused'],
  vis: ['good', 'fair', 'poor', 'very poor', 'excellent', 'fog', 'mist at dawn'],
  boat: ['the Margaret Ann', 'the Little Wren', 'the Hope of Dunmore', 'the Cormorant', 'the Saint Brendan', 'the Good Intent', 'a grey coaster', 'a fishing boat from the south', 'the mail boat', 'two yachts'],
  bird: ['gannets', 'kittiwakes', 'a heron', 'puffins', 'a single skua', 'oystercatchers', 'terns', 'a cormorant', 'starlings', 'a pair of ravens'],
  task: ['polished the lens', 'trimmed the wicks', 'wound the clockwork', 'oiled the turning gear', 'cleaned the lantern glass', 'painted the gallery rail', 'mended the storm shutter', 'carried oil up the tower', 'checked the fog signal', 'swept the stair', 'scraped salt from the windows', 'counted the stores'],
  meal: ['porridge', 'bread and cheese', 'fish soup', 'potatoes and salt herring', 'a tin of peaches', 'oatcakes', 'mutton stew', 'tea and nothing else'],
  thing: ['a length of rope', 'a green bottle', 'a broken oar', 'a crate of oranges', 'a child\'s boot', 'a tangle of net', 'a ship\'s biscuit tin', 'a plank with a name painted on it', 'a glass float', 'seaweed and more seaweed'],
  feeling: ['content', 'tired', 'restless', 'cheerful', 'lonely', 'wide awake', 'uneasy', 'at peace'],
  time: ['dawn', 'first light', 'mid-morning', 'noon', 'four o\'clock', 'dusk', 'nightfall', 'midnight', 'three in the morning'],
  person: ['Tom', 'the relief keeper', 'Mrs Quill from the supply boat', 'the inspector', 'young Alfie', 'the harbour master', 'my brother'],
  sound: ['the bell buoy', 'the gulls', 'the wind in the rail', 'the surf on the north rocks', 'the fog horn across the bay', 'the clock in the watch room', 'rain on the lantern'],
};

const MONTHS = [['January', 31], ['February', 28], ['March', 31], ['April', 30], ['May', 31], ['June', 30],
  ['July', 31], ['August', 31], ['September', 30], ['October', 31], ['November', 30], ['December', 31]];
const DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];

const NOTES = [
  'Lit the lamp at {time}. The light turned true all night.',
  '{task} in the morning, then {task} after dinner.',
  'Dinner was {meal}. I ate it in the watch room with the door open.',
  'Saw {boat} pass inside the reef at {time}, heading {wind}.',
  '{boat} put in to the landing. {person} came up the steps with the post.',
  'Found {thing} on the shingle below the tower.',
  '{bird} on the north rocks all day.',
  'Could hear {sound} from my bed.',
  'Felt {feeling}. Wrote a letter I will not send.',
  'The barometer fell all afternoon. Closed the shutters before {time}.',
  'Wind backed to the {wind} at {time} and the sea got up.',
  'Fog came in at {time}. Sounded the signal every two minutes until it cleared.',
  '{person} says there will be a hard winter. {person} says the opposite.',
  'A quiet day. {task}. {task}.',
  'Rain all day. Read by the stove and {task}.',
  'Counted {bird} and lost count.',
  'Nothing passed. The sea was {sea} and empty.',
  'Lamp lit at {time}, put out at {time}. Oil used: {oil} gallons.',
];

function weatherLine() {
  return `Wind ${pick(WORDS.wind)}, ${pick(WORDS.force)}. Sky ${pick(WORDS.sky)}. Sea ${pick(WORDS.sea)}. Visibility ${pick(WORDS.vis)}.`;
}

function note() {
  const text = pick(NOTES).replace(/\{(\w+)\}/g, (_, key) => (key === 'oil' ? String(2 + Math.floor(random() * 5)) : pick(WORDS[key])));
  return text.replace(/(^|\. )([a-z])/g, (_, before, letter) => before + letter.toUpperCase());
}

function entry(year, month, day, weekday) {
  const lines = [`${DAYS[weekday]}, ${day} ${MONTHS[month][0]} ${year}`, weatherLine()];
  const count = 2 + Math.floor(random() * 3);
  for (let i = 0; i < count; i++) lines.push(`  - ${note()}`);
  if (chance(0.15)) lines.push(fill('  Visitor: {person}, who stayed until {time}.'));
  return lines.join('\n');
}

const parts = ['THE LOG OF THE NORTH HEAD LIGHT', 'Kept by the keeper, a day at a time.', ''];
let year = 1891, month = 0, day = 1, weekday = 3;
let size = 0;
let headed = -1;
while (size < 100_000) {
  if (headed !== year * 12 + month) {
    headed = year * 12 + month;
    parts.push(`== ${MONTHS[month][0].toUpperCase()} ${year} ==`, '');
  }
  const text = entry(year, month, day, weekday);
  parts.push(text, '');
  size += text.length + 2;
  const step = chance(0.5) ? 2 : 1; // not every day gets an entry
  weekday = (weekday + step) % 7;
  day += step;
  if (day > MONTHS[month][1]) {
    day = 1;
    month += 1;
    if (month === 12) { month = 0; year += 1; }
  }
}
const out = parts.join('\n');
const file = new URL('./lighthouse.txt', import.meta.url);
writeFileSync(file, out.endsWith('\n') ? out : out + '\n');
console.log(`wrote ${file.pathname}: ${Buffer.byteLength(out)} bytes, ${new Set(out).size} distinct characters`);
