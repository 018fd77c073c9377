#!/usr/bin/env node
// Writes the project's own training corpora from templates and word lists written for this project;
// nothing is copied or adapted from any existing text. Deterministic: the same bytes on every run.
//
//   node corpora/generate.mjs
//
//   corpora/kettle-and-lamp.txt  "The Kettle and the Lamp", a play for two voices and a clock (made here)
//   corpora/lighthouse.txt       an imaginary lighthouse keeper's log (made by make-lighthouse.mjs, run last)
//
// The play is meant to be learnt quickly by a small character-level model, so its world is small on
// purpose: one kitchen, a few hundred words, speaker names in capitals, indented stage directions and
// numbered scenes. Within a word list the choices mostly start with different letters, so once a model
// has seen the first letter of a word the rest of it is easy to spell; variety comes from combining the
// lists, not from long lists.
import { writeFileSync } from 'node:fs';
import { seededRandom } from './random.mjs';

// ---------------------------------------------------------------------------------------------------
// Seeded randomness: nothing else is random.

const { random, int, pick, chance } = seededRandom(0x6b65746c); // "ketl"

// ---------------------------------------------------------------------------------------------------
// Word lists: the whole world of the play.

const W = {
  time: ['midnight', 'dawn', 'supper time', 'half past nine', 'ten o\'clock', 'first light', 'breakfast'],
  hour: ['one', 'two', 'three', 'four', 'nine', 'ten', 'twelve'],
  weather: ['rain on the window', 'snow against the glass', 'a wind in the chimney', 'fog in the garden',
    'a full moon over the yard', 'thunder far away', 'frost on the step'],
  place: ['The kitchen', 'The pantry', 'The kitchen table', 'The shelf above the stove', 'The window sill'],
  person: ['the cook', 'the boy', 'the girl with the red boots', 'the farmer', 'the old woman', 'the postman',
    'the schoolmaster'],
  thing: ['the teapot', 'the bread bin', 'the sugar bowl', 'the milk jug', 'the copper pan', 'the egg cup',
    'the flour tin', 'the jam jar'],
  creature: ['the cat', 'the mouse', 'the dog', 'the spider', 'the robin', 'the owl', 'the beetle'],
  where: ['on the stove', 'on the shelf', 'by the window', 'under the table', 'by the door', 'under the stairs',
    'in the sink'],
  kfeel: ['hot', 'full', 'empty', 'cold', 'proud', 'sleepy', 'lonely', 'restless'],
  lfeel: ['calm', 'dim', 'bright', 'low', 'sleepy', 'tired', 'wide awake'],
  sound: ['the rain', 'the clock', 'the wind', 'the mouse in the wall', 'the tap dripping', 'the owl',
    'the bell'],
  food: ['bread', 'cheese', 'eggs', 'apples', 'onions', 'potatoes', 'honey'],
  shine: ['the moon', 'the stars', 'the fire', 'the sun', 'a candle', 'a lantern on the road'],
  song: ['a song about the sea', 'an old song', 'a song with no words', 'the song about the three spoons',
    'a song for the cat'],
  color: ['blue', 'green', 'red', 'silver', 'white'],
  day: ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'],
  wick: ['too long', 'too short', 'black at the end', 'new', 'just right'],
  oil: ['a little', 'plenty of', 'hardly any', 'enough'],
  dream: ['a cloud over the sea', 'a bell in a tower', 'a boat on a river', 'the moon',
    'a kettle as big as a house', 'a lamp on a hill'],
  reason: ['the water is happy', 'I cannot keep it in', 'the cook likes it', 'it is the only song I know',
    'somebody has to', 'you never do'],
  did: ['left', 'dropped', 'washed', 'moved', 'broke', 'found', 'hid', 'carried', 'polished'],
  moved: ['ran', 'walked', 'slept', 'hid', 'danced', 'jumped'],
  state: ['asleep', 'cross with me', 'listening', 'in love with the teapot', 'very old'],
  whither: ['out', 'home', 'to the sea', 'up the chimney'],
};

// ---------------------------------------------------------------------------------------------------
// Lines. {slot} is filled from W; a slot that starts a sentence gets a capital letter.

const KETTLE = [
  'I am {kfeel} tonight, Lamp.',
  'When {person} comes down, I will sing {song}.',
  'Listen. Is that {sound}?',
  'You only shine. I do the real work.',
  'I was {color} once. Now I am black on the bottom.',
  'Steam is only water that wants to go {whither}.',
  'I dreamed that I was {dream}.',
  'Hush. {person} is on the stairs.',
  'Water in, fire under, song out. That is all I ask.',
  'I think {thing} is {state}.',
];
const LAMP = [
  'I am {lfeel}, Kettle. That is all.',
  'Someone has to keep the dark in the corners.',
  'My wick is {wick}.',
  '{shine} is only a lamp that is very far away.',
  'I can see {creature} under {thing}.',
  'Be quiet. You will wake {person}.',
  'There is {oil} oil left in me.',
  'Shadows are only the places I do not look.',
  'Outside there is {weather}.',
  'The night is long, but I am longer.',
];
// News of the house, told by either of them. These make most of the variety: the same few shapes,
// filled in many ways.
const NEWS = [
  'Today {person} {did} {thing} {where}.',
  'At {time} {person} {did} {thing}.',
  'On {day} {person} {did} {thing} and said nothing.',
  '{creature} {moved} {where}, and then {moved} {where}.',
];
// Little exchanges that hold together: a speaker and a line, then the answer (one of a list).
const EXCHANGES = [
  [['KETTLE', 'What time is it, Lamp?'], ['LAMP', ['It is {time}. Ask the clock.', 'It is after {time}. {person} is asleep.', 'I do not know. I only know light and dark.']], ['CLOCK', ['Tick.', 'It is {time}.', 'Tick. Tock.']]],
  [['KETTLE', 'Are you awake?'], ['LAMP', ['I am always awake. That is my job.', 'I am now.']]],
  [['LAMP', 'Why do you whistle?'], ['KETTLE', ['Because {reason}.', 'I do not whistle. I sing.', 'Because {person} {did} {thing}.']]],
  [['KETTLE', 'What do you see?'], ['LAMP', ['I see {creature} and {thing}. Outside there is {weather}.', 'Only the kitchen. Only you.', 'I see {person} {where}.']]],
  [['LAMP', 'Who was at the door?'], ['KETTLE', ['It was {person}, with {food} and {food}.', 'Nobody. Only the wind.', 'It was {person}, looking for {thing}.']]],
  [['LAMP', 'What did you dream?'], ['KETTLE', ['I dreamed that I was {dream}.', 'Nothing. Kettles do not dream.', 'I dreamed that {person} {did} {thing}.']]],
];
const DIRECTIONS = [
  '({creature} crosses the floor.)',
  '(KETTLE hums {song}.)',
  '(LAMP flickers. {creature} looks up.)',
  '(A long pause.)',
  '(The clock strikes {hour}.)',
];
const CLOCK = ['Tick.', 'Tick. Tock.', 'It is {time}.', 'Bong.', 'Bong. Bong. Bong.'];

const ENDINGS = [
  '(Curtain.)',
  '(LAMP goes out. Curtain.)',
  '(Morning comes. Curtain.)',
  '({person} lifts KETTLE onto the stove. Curtain.)',
  '(KETTLE sings. Curtain.)',
  '(The clock strikes {hour}. Curtain.)',
];

const ACTS = ['THE COLD WATER', 'THE NEW WICK', 'A VISITOR', 'THE LONG NIGHT', 'THE MOUSE', 'SNOW',
  'THE SONG', 'A LETTER', 'THE STORM', 'THE BROKEN CUP', 'SPRING', 'THE LAST OIL'];
const NUMBERS = ['ONE', 'TWO', 'THREE', 'FOUR', 'FIVE', 'SIX', 'SEVEN', 'EIGHT', 'NINE', 'TEN', 'ELEVEN', 'TWELVE'];

// ---------------------------------------------------------------------------------------------------
// The play.

const INDENT = '    ';

function fill(template) {
  const text = template.replace(/\{(\w+)\}/g, (_, key) => {
    if (!W[key]) throw new Error(`no word list {${key}}`);
    return pick(W[key]);
  });
  // A capital letter at the start, after the end of a sentence and after an opening parenthesis.
  return text.replace(/(^|[.?!] |\()([a-z])/g, (_, before, letter) => before + letter.toUpperCase());
}

const say = (who, template) => `${who}: ${fill(template)}`;
const other = (who) => (who === 'KETTLE' ? 'LAMP' : 'KETTLE');

function speech(who) {
  const own = who === 'KETTLE' ? KETTLE : LAMP;
  const sentence = () => fill(pick(chance(0.7) ? NEWS : own));
  let text = sentence();
  if (chance(0.5)) { // a longer speech now and then, but not a very long one
    const more = sentence();
    if (text.length + more.length < 100) text += ' ' + more;
  }
  return `${who}: ${text}`;
}

function scene(number) {
  const lines = [`SCENE ${number}`, `${INDENT}(${fill(`${pick(W.place)}. {time}. {weather}.`)})`, ''];
  // KETTLE and LAMP take turns; the clock and the stage directions do not take a turn.
  let who = chance(0.5) ? 'KETTLE' : 'LAMP';
  const asked = new Set(); // an exchange at most once a scene
  let aside = false; // no two asides in a row
  const beats = int(7, 11);
  for (let i = 0; i < beats; i++) {
    const r = random();
    const open = EXCHANGES.filter((x) => x[0][0] === who && !asked.has(x));
    if (r < 0.25 && open.length > 0) {
      const exchange = pick(open);
      asked.add(exchange);
      for (const [speaker, answers] of exchange) {
        if (speaker === 'CLOCK' && !chance(0.5)) continue;
        lines.push(say(speaker, Array.isArray(answers) ? pick(answers) : answers));
        if (speaker !== 'CLOCK') who = other(speaker);
        aside = speaker === 'CLOCK';
      }
    } else if (r < 0.37 && !aside) {
      lines.push(INDENT + fill(pick(DIRECTIONS)));
      aside = true;
    } else if (r < 0.42 && !aside) {
      lines.push(say('CLOCK', pick(CLOCK)));
      aside = true;
    } else {
      lines.push(speech(who));
      who = other(who);
      aside = false;
    }
  }
  lines.push(INDENT + fill(pick(ENDINGS)));
  return lines.join('\n');
}

function play(scenesPerAct) {
  const parts = [
    'THE KETTLE AND THE LAMP',
    'A play in twelve acts, for two voices and a clock.',
    '',
    'PERSONS OF THE PLAY',
    `${INDENT}KETTLE, a black iron kettle who likes to sing.`,
    `${INDENT}LAMP, an old oil lamp on the kitchen shelf.`,
    `${INDENT}CLOCK, who mostly says tick.`,
    '',
  ];
  ACTS.forEach((title, a) => {
    parts.push(`ACT ${NUMBERS[a]}: ${title}`, '');
    for (let s = 1; s <= scenesPerAct; s++) parts.push(scene(s), '');
  });
  parts.push('THE END');
  return parts.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------------

function write(name, text) {
  if (/[^\n\x20-\x7e]/.test(text)) throw new Error(`${name}: not plain printable ASCII`);
  const file = new URL(`./${name}`, import.meta.url);
  writeFileSync(file, text);
  const words = new Set(text.toLowerCase().match(/[a-z]+(?:'[a-z]+)?/g));
  console.log(`wrote ${file.pathname}: ${Buffer.byteLength(text)} bytes, ${text.length} characters, ` +
    `${new Set(text).size} distinct characters, ${words.size} distinct words`);
}

write('kettle-and-lamp.txt', play(14));

// The lighthouse keeper's log has its own generator; run it too, so one command rebuilds every corpus.
await import('./make-lighthouse.mjs');
