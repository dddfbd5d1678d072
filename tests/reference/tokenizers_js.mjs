// Reference ids and decodes from tokenizers.js (@huggingface/tokenizers), an
// implementation independent of kvsim's. Usage:
//   node tokenizers_js.mjs TOKENIZERS_JS_DIR tokenizer.json tokenizer_config.json texts.json
// texts.json is a JSON array of strings; prints one JSON array with, per text,
// ids (no special tokens), ids_special (add_special_tokens), and decode(ids).
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [jsDir, tokenizerPath, configPath, textsPath] = process.argv.slice(2);
const { Tokenizer } = await import(pathToFileURL(`${jsDir}/dist/tokenizers.mjs`).href);
const tokenizer = new Tokenizer(JSON.parse(readFileSync(tokenizerPath, "utf8")),
                                JSON.parse(readFileSync(configPath, "utf8")));
const texts = JSON.parse(readFileSync(textsPath, "utf8"));
const out = texts.map((text) => {
  const ids = tokenizer.encode(text, { add_special_tokens: false }).ids;
  const idsSpecial = tokenizer.encode(text, { add_special_tokens: true }).ids;
  const decoded = tokenizer.decode(ids, { skip_special_tokens: true, clean_up_tokenization_spaces: false });
  return { ids, ids_special: idsSpecial, decoded };
});
process.stdout.write(JSON.stringify(out));
