import { strictEqual } from "node:assert";
import { strftime } from "./strftime.ts";

Deno.test("strftime() formats every supported directive in English", () => {
  const date = new Date(2025, 2, 4, 15, 7, 9);
  strictEqual(
    strftime(date, "%Y %y %m %d %e %B %b %A %a %H %I %M %S %p %j %% %Q"),
    "2025 25 03 04  4 March Mar Tuesday Tue 15 03 07 09 PM 063 % %Q",
  );
  strictEqual(strftime(new Date(2024, 11, 31, 0, 0), "%j %I %p"), "366 12 AM");
});
