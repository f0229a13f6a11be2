import { deepStrictEqual, strictEqual, throws } from "node:assert";
import { readGgufFile } from "../gguf/reader.ts";
import { testModelPath } from "../../tests/testdata.ts";
import { ChatTemplateError } from "./chat_template_error.ts";
import { createChatTemplate } from "./chat_template.ts";
import type { ChatMessage, ChatTool } from "./types.ts";

const SMOL_SYSTEM = "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by " +
  "Hugging Face<|im_end|>\n";

const CONVERSATION: ChatMessage[] = [
  { role: "system", content: "You answer in French." },
  { role: "user", content: "Hello!" },
  { role: "assistant", content: "Bonjour !" },
  { role: "user", content: "How are you?" },
];

const WEATHER_TOOL: ChatTool = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } } },
  },
};

const _files = new Map<string, ReturnType<typeof readGgufFile>>();

/** Reads each model's header once: Gemma's 262144-token vocabulary takes about a second. */
async function _metadata(alias: "smollm2-135m-instruct" | "gemma3-270m") {
  if (!_files.has(alias)) _files.set(alias, readGgufFile(testModelPath(alias)));
  return (await _files.get(alias)!).metadata;
}

Deno.test("createChatTemplate() uses SmolLM2's own template for one user turn", async () => {
  const template = createChatTemplate(await _metadata("smollm2-135m-instruct"));
  strictEqual(template.source, "gguf");
  strictEqual(template.bosToken, "<|im_start|>");
  strictEqual(template.eosToken, "<|im_end|>");
  strictEqual(
    template.render([{ role: "user", content: "What is 2+2?" }]),
    SMOL_SYSTEM + "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
  );
});

Deno.test("createChatTemplate() renders SmolLM2 system + user + assistant + user", async () => {
  const template = createChatTemplate(await _metadata("smollm2-135m-instruct"));
  strictEqual(
    template.render(CONVERSATION, { addGenerationPrompt: true }),
    "<|im_start|>system\nYou answer in French.<|im_end|>\n" +
      "<|im_start|>user\nHello!<|im_end|>\n" +
      "<|im_start|>assistant\nBonjour !<|im_end|>\n" +
      "<|im_start|>user\nHow are you?<|im_end|>\n" +
      "<|im_start|>assistant\n",
  );
  strictEqual(
    template.render(CONVERSATION.slice(0, 3), { addGenerationPrompt: false }),
    "<|im_start|>system\nYou answer in French.<|im_end|>\n" +
      "<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\nBonjour !<|im_end|>\n",
  );
});

Deno.test("createChatTemplate() reports that SmolLM2's template ignores tools", async () => {
  const template = createChatTemplate(await _metadata("smollm2-135m-instruct"));
  const messages: ChatMessage[] = [{ role: "user", content: "Weather in Paris?" }];
  strictEqual(template.supportsTools, false);
  strictEqual(template.render(messages, { tools: [WEATHER_TOOL] }), template.render(messages));
});

Deno.test("createChatTemplate() gives Gemma 3 (no template in the file) the gemma format", async () => {
  const metadata = await _metadata("gemma3-270m");
  strictEqual(metadata.has("tokenizer.chat_template"), false);
  const template = createChatTemplate(metadata);
  deepStrictEqual([template.source, template.bosToken, template.eosToken], [
    "gemma",
    "<bos>",
    "<eos>",
  ]);
  strictEqual(
    template.render([{ role: "user", content: "What is 2+2?" }]),
    "<bos><start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n",
  );
});

Deno.test("createChatTemplate() folds Gemma's system message into the first user turn", async () => {
  const template = createChatTemplate(await _metadata("gemma3-270m"));
  strictEqual(
    template.render(CONVERSATION, { addGenerationPrompt: true }),
    "<bos><start_of_turn>user\nYou answer in French.\n\nHello!<end_of_turn>\n" +
      "<start_of_turn>model\nBonjour !<end_of_turn>\n" +
      "<start_of_turn>user\nHow are you?<end_of_turn>\n" +
      "<start_of_turn>model\n",
  );
  strictEqual(template.supportsTools, false);
});

Deno.test("createChatTemplate() names the role Gemma cannot render", async () => {
  const template = createChatTemplate(await _metadata("gemma3-270m"));
  throws(
    () => template.render([{ role: "user", content: "Hi" }, { role: "tool", content: "42" }]),
    {
      name: "ChatTemplateError",
      message: 'Cannot render chat with the gemma format: message 1 has role "tool", which is ' +
        "not supported (only a first system message, then user and assistant turns)",
    },
  );
});

Deno.test("createChatTemplate() renders tools with a template that reads them", () => {
  const template = createChatTemplate(new Map(), {
    template: "{% if tools %}{% for tool in tools %}{{ tool | tojson }}\n{% endfor %}{% endif %}" +
      "{% for m in messages %}[{{ m.role }}]{% if m.tool_calls is defined %}" +
      "{% for call in m.tool_calls %}{{ call.function.name }}{{ call.function.arguments | tojson }}" +
      "{% endfor %}{% else %}{{ m.content }}{% endif %}\n{% endfor %}",
  });
  const messages: ChatMessage[] = [
    { role: "user", content: "Weather in Paris?" },
    {
      role: "assistant",
      content: "",
      tool_calls: [{ function: { name: "get_weather", arguments: '{"city":"Paris"}' } }],
    },
  ];
  strictEqual(template.supportsTools, true);
  strictEqual(
    template.render(messages, { tools: [WEATHER_TOOL] }),
    '{"type": "function", "function": {"name": "get_weather", "description": "Current weather ' +
      'in a city", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}' +
      '\n[user]Weather in Paris?[assistant]get_weather{"city": "Paris"}',
  );
});

Deno.test("createChatTemplate() passes tools as none when there are none", () => {
  const template = createChatTemplate(new Map(), {
    template: "{{ 'no tools' if tools is none else tools | length }}",
  });
  strictEqual(template.render([]), "no tools");
  strictEqual(template.render([], { tools: [WEATHER_TOOL, WEATHER_TOOL] }), "2");
});

Deno.test("createChatTemplate() keeps its own variables over options.variables", () => {
  const template = createChatTemplate(new Map(), {
    template: "{{ add_generation_prompt }}/{{ enable_thinking }}",
  });
  const variables = { enable_thinking: false, add_generation_prompt: "overridden" };
  strictEqual(template.render([], { addGenerationPrompt: true, variables }), "true/false");
});

Deno.test("createChatTemplate() quotes the Jinja parser's error and the model", () => {
  const metadata = new Map([
    ["general.name", "Broken"],
    ["tokenizer.chat_template", "{% if %}yes{% endif %}"],
  ]);
  throws(() => createChatTemplate(metadata), (error: unknown) => {
    strictEqual(error instanceof ChatTemplateError, true);
    strictEqual(
      (error as Error).message,
      'Cannot parse chat template tokenizer.chat_template of "Broken": Unexpected token: CloseStatement',
    );
    return true;
  });
});

Deno.test("createChatTemplate() turns raise_exception into ChatTemplateError", () => {
  const template = createChatTemplate(new Map(), {
    template: "{% if messages[0].role != 'user' %}{{ raise_exception('Start with a user turn') }}" +
      "{% endif %}ok",
  });
  strictEqual(template.render([{ role: "user", content: "x" }]), "ok");
  throws(() => template.render([{ role: "assistant", content: "x" }]), {
    name: "ChatTemplateError",
    message: 'Cannot render chat template from options.template: the template raised "Start ' +
      'with a user turn"',
  });
});

Deno.test("createChatTemplate() rejects an unknown role before rendering", () => {
  const template = createChatTemplate(new Map(), { format: "chatml" });
  const messages = [{ role: "bot", content: "x" }] as unknown as ChatMessage[];
  throws(() => template.render(messages), {
    name: "TypeError",
    message: 'Cannot render chat: message 0 has role "bot", expected "system", "user", ' +
      '"assistant" or "tool"',
  });
});

Deno.test("createChatTemplate() forces a built-in format over the file's template", async () => {
  const template = createChatTemplate(await _metadata("smollm2-135m-instruct"), {
    format: "chatml",
  });
  strictEqual(template.source, "chatml");
  strictEqual(
    template.render([{ role: "user", content: "Hi" }]),
    "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
  );
});

Deno.test("createChatTemplate() gives strftime_now the injected clock", () => {
  const template = createChatTemplate(new Map(), {
    template: "Today Date: {{ strftime_now('%d %b %Y') }}",
    now: () => new Date(2024, 6, 26, 13, 5),
  });
  strictEqual(template.render([]), "Today Date: 26 Jul 2024");
});
