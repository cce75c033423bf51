"""The message catalogue: every sentence a user reads, in English and Chinese.

One place for wording means both languages stay complete (a test checks it) and the language is
picked once, at start-up, from ``--lang``, the ``lang`` setting, or the locale.
"""

from __future__ import annotations

import os
from typing import Any

LANGUAGES = ("en", "zh")
_current = "en"

HOME_URLS = {"cn": "https://open.bigmodel.cn", "intl": "https://z.ai"}
CONSOLE_URLS = {
    "cn": "https://open.bigmodel.cn/usercenter/apikeys",
    "intl": "https://z.ai/manage-apikey/apikey-list",
}

# id -> (English, Chinese).  Placeholders use str.format names.
CATALOGUE: dict[str, tuple[str, str]] = {
    # --- usage ---------------------------------------------------------------------------------
    "empty_prompt": (
        "The prompt is empty. Give a prompt, or - to read it from standard input.",
        "提示词为空。请给出提示词，或用 - 从标准输入读取。",
    ),
    "stdin_unreadable": (
        "Could not read the prompt from standard input ({detail}). Send UTF-8 text.",
        "无法从标准输入读取提示词（{detail}）。请输入 UTF-8 文本。",
    ),
    "prompt_too_long": (
        "The prompt has {length} characters; {model} accepts at most {limit}. Shorten it.",
        "提示词有 {length} 个字符，{model} 最多接受 {limit} 个。请缩短。",
    ),
    "bad_size_format": (
        "'{size}' is not a size. Write WIDTHxHEIGHT, for example 1024x1024.",
        "“{size}”不是有效的尺寸格式。请写成 宽x高，例如 1024x1024。",
    ),
    "width_height_pair": (
        "Give both --width and --height, or use --size WIDTHxHEIGHT.",
        "请同时给出 --width 和 --height，或使用 --size 宽x高。",
    ),
    "size_conflict": (
        "--size and --width/--height both given; use one of them.",
        "同时给出了 --size 和 --width/--height，请只用其中一种。",
    ),
    "invalid_size": (
        "Size {size} is not valid for {model}: {rule}. Nearest valid size: {nearest} "
        "(recommended: {recommended}).",
        "尺寸 {size} 不适用于 {model}：{rule}。最接近的有效尺寸：{nearest}（推荐：{recommended}）。",
    ),
    "size_rule": (
        "each side {min_side}–{max_side} px and a multiple of {multiple}, at most {max_pixels} pixels",
        "每边 {min_side}–{max_side} 像素且为 {multiple} 的倍数，总像素不超过 {max_pixels}",
    ),
    "samples_range": (
        "-n/--samples must be between 1 and {max}; got {n}.",
        "-n/--samples 须在 1 到 {max} 之间，当前为 {n}。",
    ),
    "quality_not_supported": (
        "{model} does not support quality '{quality}'. Use: {choices}.",
        "{model} 不支持画质“{quality}”。可用：{choices}。",
    ),
    "unknown_style": (
        "Unknown style '{style}'. Did you mean: {suggestions}? Run `glm-image styles` to list all.",
        "未知风格“{style}”。你是不是想用：{suggestions}？运行 `glm-image styles` 查看全部。",
    ),
    "unknown_style_no_match": (
        "Unknown style '{style}'. Run `glm-image styles` to list all.",
        "未知风格“{style}”。运行 `glm-image styles` 查看全部。",
    ),
    # --- config --------------------------------------------------------------------------------
    "missing_api_key": (
        "No API key is set. Run `glm-image config set api-key` (get a key at {console_url}) "
        "or set GLM_API_KEY.",
        "未设置 API 密钥。请运行 `glm-image config set api-key`（密钥在 {console_url} 获取），"
        "或设置环境变量 GLM_API_KEY。",
    ),
    "config_unknown_key": (
        "Unknown setting '{key}'. Valid settings: {keys}.",
        "未知设置项“{key}”。可用的设置项：{keys}。",
    ),
    "config_bad_value": (
        "Invalid value for {key}: {reason}.",
        "{key} 的值无效：{reason}。",
    ),
    "config_file_invalid": (
        "The config file {path} is not valid TOML ({detail}). Fix it or move it away.",
        "配置文件 {path} 不是有效的 TOML（{detail}）。请修正或移走它。",
    ),
    "config_file_bad_value": (
        "The config file {path} has an invalid {key}: {reason}. "
        "Fix it with `glm-image config set {key} …` or `glm-image config unset {key}`.",
        "配置文件 {path} 中的 {key} 无效：{reason}。"
        "请用 `glm-image config set {key} …` 修正，或用 `glm-image config unset {key}` 删除。",
    ),
    "config_unreadable": (
        "Cannot read the config file {path} ({detail}).",
        "无法读取配置文件 {path}（{detail}）。",
    ),
    "config_unwritable": (
        "Cannot write the config file {path} ({detail}). Check the folder's permissions "
        "or point GLM_IMAGE_CONFIG elsewhere.",
        "无法写入配置文件 {path}（{detail}）。请检查文件夹权限，或用 GLM_IMAGE_CONFIG 指向别处。",
    ),
    "value_required_no_tty": (
        "No value given and no terminal to ask on. Use `glm-image config set {key} VALUE`, "
        "or pipe it in: `... | glm-image config set {key} -`.",
        "没有给出值，也没有终端可以询问。请用 `glm-image config set {key} 值`，"
        "或通过管道输入：`... | glm-image config set {key} -`。",
    ),
    "reason_choices": ("must be one of {choices}", "必须是以下之一：{choices}"),
    "reason_number_range": (
        "must be a number from {low} to {high}",
        "必须是 {low} 到 {high} 之间的数字",
    ),
    "reason_integer_range": (
        "must be a whole number from {low} to {high}",
        "必须是 {low} 到 {high} 之间的整数",
    ),
    "reason_url": (
        "must be an http:// or https:// URL",
        "必须是 http:// 或 https:// 开头的网址",
    ),
    "reason_not_empty": ("must not be empty", "不能为空"),
    "reason_api_key": (
        "must be a single word without spaces",
        "必须是不含空格的一串字符",
    ),
    "reason_size": ("must look like 1024x1024", "格式应为 1024x1024"),
    "reason_styles_table": (
        "[styles] must map each style name to a text phrase",
        "[styles] 必须把每个风格名映射到一段文字",
    ),
    # --- output --------------------------------------------------------------------------------
    "output_not_writable": (
        "Cannot write to the output folder {path} ({detail}). Choose another with -o "
        "or `glm-image config set output-dir DIR`.",
        "无法写入输出文件夹 {path}（{detail}）。请用 -o 或 `glm-image config set output-dir 目录` 换一个。",
    ),
    # --- upstream ------------------------------------------------------------------------------
    "auth_failed": (
        "BigModel rejected the API key ({detail}). Check it with `glm-image config show` "
        "and set a valid one with `glm-image config set api-key`.",
        "BigModel 拒绝了 API 密钥（{detail}）。请用 `glm-image config show` 检查，"
        "并用 `glm-image config set api-key` 设置有效的密钥。",
    ),
    "account_problem": (
        "Your BigModel account cannot be used right now ({detail}). Check its status at {console_url}.",
        "你的 BigModel 账户当前无法使用（{detail}）。请到 {console_url} 查看账户状态。",
    ),
    "balance_exhausted": (
        "Your BigModel balance is used up or you have no resource package ({detail}). "
        "Recharge at {console_url}; retrying will not help.",
        "BigModel 账户余额不足或没有可用资源包（{detail}）。请到 {console_url} 充值，重试无济于事。",
    ),
    "daily_quota": (
        "The account's daily quota is reached ({detail}). Try again tomorrow.",
        "账户今日调用额度已用完（{detail}）。请明天再试。",
    ),
    "bad_parameters": (
        "BigModel refused the request's parameters ({detail}). Check --size, --model and --quality.",
        "BigModel 拒绝了请求参数（{detail}）。请检查 --size、--model 和 --quality。",
    ),
    "unknown_model_upstream": (
        "BigModel does not offer model '{model}' ({detail}). Known models: {models}.",
        "BigModel 不提供模型“{model}”（{detail}）。已知模型：{models}。",
    ),
    "no_permission": (
        "This key may not use model '{model}' ({detail}). Check the model's access in the console.",
        "此密钥无权使用模型“{model}”（{detail}）。请在控制台检查该模型的权限。",
    ),
    "prompt_too_long_upstream": (
        "BigModel says the prompt is too long ({detail}). Shorten it.",
        "BigModel 表示提示词过长（{detail}）。请缩短。",
    ),
    "content_blocked": (
        "BigModel refused this prompt or its image on content-safety grounds ({detail}). "
        "Rephrase the prompt; the same prompt will be refused again.",
        "BigModel 出于内容安全原因拒绝了此提示词或生成的图片（{detail}）。请修改提示词，原样重试仍会被拒绝。",
    ),
    "upstream_refused": (
        "BigModel refused the request ({detail}).",
        "BigModel 拒绝了请求（{detail}）。",
    ),
    "rate_limited": (
        "BigModel is still rate limiting after {attempts} attempts ({detail}). Wait a minute, "
        "or lower concurrency: `glm-image config set concurrency 1`.",
        "重试 {attempts} 次后 BigModel 仍在限流（{detail}）。请稍等一分钟再试，"
        "或降低并发：`glm-image config set concurrency 1`。",
    ),
    "upstream_error": (
        "BigModel failed with a server error ({detail}). Try again later.",
        "BigModel 服务器出错（{detail}）。请稍后再试。",
    ),
    "gateway_maybe_charged": (
        "BigModel's gateway answered {detail} after the request was sent: the image may still have been "
        "made and billed, so it was not retried. Check your bill, then re-run (or pass --retry-unsafe).",
        "请求发出后 BigModel 网关返回 {detail}：图片可能已生成并计费，因此没有自动重试。"
        "请先核对账单再重新运行（或加 --retry-unsafe）。",
    ),
    "response_timeout_maybe_charged": (
        "No answer from BigModel within {timeout} s after the request was sent: the image may still be "
        "made and billed, so it was not retried. Raise the timeout (`glm-image config set timeout 300`) "
        "or pass --retry-unsafe.",
        "请求发出后 {timeout} 秒内 BigModel 没有回应：图片可能仍会生成并计费，因此没有自动重试。"
        "请调大超时（`glm-image config set timeout 300`）或加 --retry-unsafe。",
    ),
    "response_lost_maybe_charged": (
        "The connection to BigModel broke after the request was sent ({detail}): the image may have been "
        "billed, so it was not retried. Check your bill, then re-run (or pass --retry-unsafe).",
        "请求发出后与 BigModel 的连接中断（{detail}）：图片可能已经计费，因此没有自动重试。"
        "请先核对账单再重新运行（或加 --retry-unsafe）。",
    ),
    "network_unreachable": (
        "Cannot reach {host} after {attempts} attempts ({detail}); nothing was sent or billed. "
        "Check the network or proxy, or the `region`/`base-url` settings.",
        "尝试 {attempts} 次后仍无法连接 {host}（{detail}），请求未发出，也未计费。"
        "请检查网络或代理，或 `region`/`base-url` 设置。",
    ),
    "download_failed": (
        "The image was made (request {request_id}) but downloading it failed ({detail}). "
        "Its temporary URL: {url}",
        "图片已生成（请求 {request_id}），但下载失败（{detail}）。临时地址：{url}",
    ),
    "bad_response": (
        "BigModel sent an answer glm-image does not understand ({detail}). Try again; "
        "if it persists, please report it.",
        "BigModel 返回了无法识别的内容（{detail}）。请重试；如果持续出现，请报告此问题。",
    ),
    "async_task_failed": (
        "BigModel reported task {task_id} as failed ({detail}). Try again, perhaps with another prompt.",
        "BigModel 报告任务 {task_id} 失败（{detail}）。请重试，或换一个提示词。",
    ),
    "async_timeout": (
        "Task {task_id} was still running after {seconds} s; it may still finish and be billed. "
        "Try again later with a smaller batch.",
        "任务 {task_id} 在 {seconds} 秒后仍未完成，之后仍可能完成并计费。请稍后再试。",
    ),
    # --- batch ---------------------------------------------------------------------------------
    "batch_file_missing": (
        "The prompt file {path} does not exist. Check the path (one prompt per line, or .jsonl / .csv).",
        "提示词文件 {path} 不存在。请检查路径（每行一个提示词，或 .jsonl / .csv 文件）。",
    ),
    "batch_unreadable": (
        "Cannot read the prompt file {path} ({detail}). Save it as UTF-8 text.",
        "无法读取提示词文件 {path}（{detail}）。请保存为 UTF-8 文本。",
    ),
    "batch_bad_json": ("not valid JSON ({detail})", "不是有效的 JSON（{detail}）"),
    "batch_not_object": (
        'each line must be a JSON object such as {{"prompt": "..."}}',
        '每行必须是 JSON 对象，例如 {{"prompt": "..."}}',
    ),
    "batch_unknown_fields": (
        "unknown field(s) {fields}; valid: {valid}",
        "未知字段 {fields}；可用字段：{valid}",
    ),
    "batch_csv_header": (
        "the CSV needs a header row with a 'prompt' column (columns: {valid})",
        "CSV 需要包含 prompt 列的表头（可用列：{valid}）",
    ),
    "batch_missing_prompt": ("no 'prompt' field", "缺少 prompt 字段"),
    "batch_field_type": ("field '{field}' must be text", "字段“{field}”必须是文本"),
    "batch_bad_name": (
        "name '{name}' cannot be a file name (no / \\ : * ? \" < > |, not starting with a dot, at most 120 "
        "characters)",
        "名称“{name}”不能用作文件名（不能含 / \\ : * ? \" < > |，不能以点开头，最多 120 个字符）",
    ),
    "batch_line_error": ("line {line}: {message}", "第 {line} 行：{message}"),
    "batch_invalid": (
        "{count} invalid line(s) in {path}; nothing was sent. Fix them, or pass --skip-invalid "
        "to run the valid ones.",
        "{path} 中有 {count} 行无效，未发送任何请求。请修正，或加 --skip-invalid 只运行有效的行。",
    ),
    "batch_empty": (
        "{path} has no prompts (blank lines and lines starting with # are skipped).",
        "{path} 中没有提示词（空行和以 # 开头的行会被跳过）。",
    ),
    "batch_uncertain": (
        "{count} image(s) were in flight when an earlier run stopped and may have been billed; "
        "they are not requested again. Pass --retry-unsafe to request them anyway.",
        "有 {count} 张图片在上次运行中断时已发出请求，可能已经计费，本次不再请求。"
        "如仍要重新请求，请加 --retry-unsafe。",
    ),
    "batch_resuming": (
        "Resuming: {done} image(s) already made are skipped.",
        "继续上次的批次：已生成的 {done} 张图片将跳过。",
    ),
    "batch_plan": (
        "{items} item(s), {images} image(s): {to_run} to make, {done} already made, {uncertain} uncertain, "
        "{skipped} failed before and skipped, {capped} left for later (--max-images).",
        "共 {items} 项、{images} 张图片：待生成 {to_run} 张，已生成 {done} 张，状态不明 {uncertain} 张，"
        "之前失败且跳过 {skipped} 张，留待以后 {capped} 张（--max-images）。",
    ),
    "batch_plan_model": ("  {model}: {count} image(s)", "  {model}：{count} 张"),
    "batch_cost": (
        "Estimated cost: {cost:.2f} {currency} (reference price table){unknown}.",
        "预计费用：{cost:.2f} {currency}（按参考价格表）{unknown}。",
    ),
    "batch_cost_unknown": ("; {count} image(s) of unknown price", "；另有 {count} 张价格未知"),
    "batch_dry_run": ("Dry run: nothing was sent.", "试运行：未发送任何请求。"),
    "batch_failed_file": (
        "Failed items written to {path}; fix them and run: glm-image batch {path}",
        "失败的项已写入 {path}；修正后可运行：glm-image batch {path}",
    ),
    "batch_interrupted_waiting": (
        "Interrupted: no new requests; waiting for {count} in flight (they may be billed). "
        "Ctrl-C again abandons them (a re-run will not resend them).",
        "已中断：不再发送新请求，正在等待已发出的 {count} 个请求（可能已计费）。"
        "再按一次 Ctrl-C 放弃它们（重新运行时不会重复发送）。",
    ),
    "batch_max_images": ("--max-images must be at least 1.", "--max-images 至少为 1。"),
    "summary_title": ("Batch summary", "批次汇总"),
    "summary_done": ("made", "已生成"),
    "summary_skipped": ("skipped (made earlier)", "跳过（之前已生成）"),
    "summary_failed": ("failed", "失败"),
    "summary_failed_code": ("failed: {code}", "失败：{code}"),
    "summary_uncertain": ("uncertain (may be billed)", "状态不明（可能已计费）"),
    "summary_not_sent": ("not sent", "未发送"),
    "summary_wall": ("wall time", "耗时"),
    "summary_rate": ("images per minute", "每分钟图片数"),
    "batch_overall": ("batch", "批次"),
    "batch_failures": ("{count} failed", "失败 {count}"),
    "batch_rate": ("{rate:.1f}/min", "{rate:.1f} 张/分钟"),
    # --- serve and ping --------------------------------------------------------------------------
    "port_in_use": (
        "Port {port} on {host} is already in use. Stop the other program or pick another port: --port {suggestion}",
        "{host} 上的端口 {port} 已被占用。请停止占用它的程序，或换一个端口：--port {suggestion}",
    ),
    "cannot_bind": (
        "Cannot listen on {host}:{port} ({detail}). Check the address, or use --host 127.0.0.1.",
        "无法在 {host}:{port} 上监听（{detail}）。请检查地址，或使用 --host 127.0.0.1。",
    ),
    "serve_needs_token": (
        "Refusing to serve on {host} without a token: anyone on the network could spend your balance. "
        "Set one with --token (or `glm-image config set server-token`), or pass --insecure if you mean it.",
        "拒绝在 {host} 上无令牌提供服务：网络上的任何人都能花掉你的余额。"
        "请用 --token 设置令牌（或 `glm-image config set server-token`），确有需要可加 --insecure。",
    ),
    "serve_insecure": (
        "SERVING ON {host} WITHOUT A TOKEN: anyone who can reach this port can spend your BigModel balance.",
        "正在 {host} 上无令牌提供服务：任何能访问此端口的人都能花掉你的 BigModel 余额。",
    ),
    "serve_started": (
        "glm-image serve listening on {url} (Ctrl-C to stop)",
        "glm-image serve 正在监听 {url}（按 Ctrl-C 停止）",
    ),
    "serve_endpoints": ("Endpoints:", "接口："),
    "serve_token_on": (
        "Requests need the header: Authorization: Bearer <token>",
        "请求需要携带请求头：Authorization: Bearer <令牌>",
    ),
    "serve_stopping": (
        "Stopping: no new connections; waiting for {count} request(s) in flight (up to {seconds} s).",
        "正在停止：不再接受新连接，等待 {count} 个进行中的请求（最多 {seconds} 秒）。",
    ),
    "serve_stopped": ("Stopped.", "已停止。"),
    "serve_bad_option": ("{option} must be at least {low}.", "{option} 至少为 {low}。"),
    "ping_config": ("config file", "配置文件"),
    "ping_key": ("API key", "API 密钥"),
    "ping_base_url": ("base URL", "接口地址"),
    "ping_dns": ("DNS", "域名解析"),
    "ping_reach": ("reachable (TLS)", "连通性（TLS）"),
    "ping_auth": ("key accepted", "密钥有效"),
    "ping_server": ("glm-image serve", "glm-image serve 服务"),
    "ping_found": ("found: {path}", "已找到：{path}"),
    "ping_not_found": ("none at {path} (defaults and environment used)", "{path} 不存在（使用默认值和环境变量）"),
    "ping_missing_key": (
        "not set: run `glm-image config set api-key`",
        "未设置：请运行 `glm-image config set api-key`",
    ),
    "ping_rejected": ("rejected ({detail})", "被拒绝（{detail}）"),
    "ping_accepted": (
        "accepted (answered {detail} to a free check request; no image was made)",
        "有效（免费检查请求返回 {detail}，未生成图片）",
    ),
    "ping_failed": ("failed: {detail}", "失败：{detail}"),
    "ping_skipped": ("skipped", "跳过"),
    "ping_server_down": (
        "no answer from {url} ({detail}); start it with `glm-image serve`",
        "{url} 没有响应（{detail}）；请用 `glm-image serve` 启动",
    ),
    "ping_all_ok": ("All checks passed.", "全部检查通过。"),
    "ping_some_failed": ("Some checks failed.", "部分检查未通过。"),
    "col_check": ("Check", "检查项"),
    "col_status": ("Status", "状态"),
    "col_detail": ("Detail", "详情"),
    "col_elapsed": ("Time", "耗时"),
    # --- metadata, history, gallery ------------------------------------------------------------
    "history_unusable": (
        "The history file {path} cannot be used ({detail}). Move it away, or turn history off: "
        "`glm-image config set history off`.",
        "历史记录文件 {path} 无法使用（{detail}）。请移走它，或关闭历史记录：`glm-image config set history off`。",
    ),
    "history_not_recorded": (
        "The images are saved, but the history could not be recorded ({detail}).",
        "图片已保存，但无法写入历史记录（{detail}）。",
    ),
    "history_not_found": (
        "No history entry {id}. Run `glm-image history` to see the ids.",
        "没有编号为 {id} 的历史记录。运行 `glm-image history` 查看编号。",
    ),
    "history_bad_since": (
        "'{value}' is not a time: use 30m, 3h, 2d, 1w or a date such as 2026-11-20.",
        "“{value}”不是有效的时间：请用 30m、3h、2d、1w 或日期（如 2026-11-20）。",
    ),
    "history_empty": ("No history yet.", "还没有历史记录。"),
    "history_cleared": ("Removed {count} history entries.", "已删除 {count} 条历史记录。"),
    "history_clear_confirm": ("Delete all {count} history entries?", "确定删除全部 {count} 条历史记录吗？"),
    "history_clear_needs_yes": (
        "Clearing the history needs confirmation and there is no terminal to ask on; pass --yes.",
        "清除历史记录需要确认，但没有可交互的终端；请加 --yes。",
    ),
    "history_no_prompt": (
        "History entry {id} has no prompt to run again.",
        "历史记录 {id} 没有可重新运行的提示词。",
    ),
    "info_not_png": ("{path}: not a PNG image ({detail}).", "{path}：不是 PNG 图片（{detail}）。"),
    "info_foreign": (
        "{path}: a PNG without a glm-image recipe (made by another tool, or saved with --no-metadata).",
        "{path}：PNG 中没有 glm-image 配方（由其他工具生成，或保存时用了 --no-metadata）。",
    ),
    "info_unreadable": ("{path}: cannot read it ({detail}).", "{path}：无法读取（{detail}）。"),
    "gallery_written": ("Gallery written: {path}", "图库已生成：{path}"),
    "gallery_no_folder": (
        "{path} is not a folder of images. Give the folder you generated into, e.g. ./glm-images.",
        "{path} 不是图片文件夹。请给出生成图片的文件夹，例如 ./glm-images。",
    ),
    "gallery_not_ours": (
        "{path} exists and was not written by glm-image; it is left alone. Remove it or choose another folder.",
        "{path} 已存在且不是 glm-image 生成的，未覆盖。请删除它或换一个文件夹。",
    ),
    "col_id": ("ID", "编号"),
    "col_time": ("Time", "时间"),
    "col_prompt": ("Prompt", "提示词"),
    "col_model": ("Model", "模型"),
    "col_size": ("Size", "尺寸"),
    "col_result": ("Result", "结果"),
    "col_field": ("Field", "字段"),
    # --- output control and spend -------------------------------------------------------------
    "name_template_token": (
        "The name template '{template}' has unknown token(s) {tokens}. Valid tokens: {valid}.",
        "文件名模板“{template}”含有未知占位符 {tokens}。可用占位符：{valid}。",
    ),
    "name_template_syntax": (
        "The name template '{template}' is not valid ({detail}). Example: --name \"{{date}}/{{slug}}-{{index}}\"",
        "文件名模板“{template}”无效（{detail}）。示例：--name \"{{date}}/{{slug}}-{{index}}\"",
    ),
    "name_template_escape": (
        "The name template '{template}' would write outside the output folder (absolute path or ..). "
        "Use a relative name such as {{date}}/{{slug}}.",
        "文件名模板“{template}”会写到输出文件夹之外（绝对路径或 ..）。请使用相对名称，例如 {{date}}/{{slug}}。",
    ),
    "format_unknown": (
        "Unknown image format '{format}'. Use one of: {choices}.",
        "未知图片格式“{format}”。可用：{choices}。",
    ),
    "format_needs_pillow": (
        "Saving as {format} needs the image conversion extra: pip install 'glm-image[convert]'. Nothing was sent.",
        "保存为 {format} 需要安装图片转换组件：pip install 'glm-image[convert]'。未发送任何请求。",
    ),
    "reason_user_id": (
        "must be 6 to 128 characters without spaces",
        "必须为 6 到 128 个字符且不含空格",
    ),
    "watermark_refused": (
        "BigModel refused to leave out the watermark ({detail}): the account has not signed the platform's "
        "disclaimer. Sign it in the console ({console_url}), or run without --no-watermark.",
        "BigModel 拒绝去除水印（{detail}）：该账户尚未签署平台的免责声明。请在控制台（{console_url}）签署，"
        "或去掉 --no-watermark 再运行。",
    ),
    "spend_question": (
        "This will make {images} image(s) with {models}, estimated {cost:.2f} {currency}. Continue?",
        "将使用 {models} 生成 {images} 张图片，预计 {cost:.2f} {currency}。是否继续？",
    ),
    "spend_needs_yes": (
        "This run would cost about {cost:.2f} {currency} (above confirm-above = {limit:g}) and there is no "
        "terminal to ask on. Pass --yes to go ahead, or raise the limit: glm-image config set confirm-above 5",
        "本次运行预计花费约 {cost:.2f} {currency}（超过 confirm-above = {limit:g}），且没有可交互的终端。"
        "请加 --yes 继续，或调高限额：glm-image config set confirm-above 5",
    ),
    "spend_declined": ("Nothing was sent.", "未发送任何请求。"),
    "convert_failed": (
        "Could not convert the upstream's {format} image to {target} ({detail}); saved it unchanged as .{ext}.",
        "无法把上游返回的 {format} 图片转换为 {target}（{detail}），已原样保存为 .{ext}。",
    ),
    "mcp_missing": (
        "The MCP server needs the optional extra: pip install 'glm-image[mcp]'",
        "MCP 服务需要安装可选组件：pip install 'glm-image[mcp]'",
    ),
    "mcp_spend_needs_consent": (
        "This request would cost about {cost:.2f} {currency} (above confirm-above = {limit:g}). Tell the user "
        "the cost and call again with allow_spend=true only if they agree.",
        "此请求预计花费约 {cost:.2f} {currency}（超过 confirm-above = {limit:g}）。请先告知用户费用，"
        "经用户同意后再以 allow_spend=true 调用。",
    ),
    "content_filter_note": ("content filter: {levels}", "内容审核：{levels}"),
    "batch_content_blocked": (
        "{count} prompt(s) were refused on content-safety grounds: rephrase them in {path} and run it again.",
        "有 {count} 个提示词因内容安全原因被拒绝：请在 {path} 中修改后重新运行。",
    ),
    # --- generic -------------------------------------------------------------------------------
    "interrupted": ("Interrupted.", "已中断。"),
    "interrupted_waiting": (
        "Interrupted: waiting for {count} image(s) already requested (they may be billed). "
        "Press Ctrl-C again to abandon them.",
        "已中断：正在等待已发出的 {count} 张图片（可能已计费）。再按一次 Ctrl-C 放弃它们。",
    ),
    "internal_error": (
        "Internal error: {detail}. Please report it; set GLM_IMAGE_DEBUG=1 to see the details.",
        "内部错误：{detail}。请报告此问题；设置 GLM_IMAGE_DEBUG=1 可查看详情。",
    ),
    "error_prefix": ("error: ", "错误："),
    "warning_prefix": ("warning: ", "警告："),
    # --- warnings and notices ------------------------------------------------------------------
    "unknown_model_warning": (
        "Model '{model}' is not in glm-image's table; sending it as is, without checking the size.",
        "模型“{model}”不在 glm-image 的模型表中，将原样发送，不检查尺寸。",
    ),
    "legacy_model_warning": (
        "Model '{model}' is a legacy model no longer documented; the size is not checked.",
        "模型“{model}”是已不再有文档的旧模型，不检查尺寸。",
    ),
    "long_prompt_warning": (
        "The prompt has {length} characters; prompts past 1000 may be refused by the upstream.",
        "提示词有 {length} 个字符；超过 1000 个字符可能被上游拒绝。",
    ),
    "retrying": (
        "{reason}; retrying in {seconds:.1f} s (attempt {attempt} of {max_attempts}).",
        "{reason}；{seconds:.1f} 秒后重试（第 {attempt}/{max_attempts} 次）。",
    ),
    "reason_rate_limited": ("rate limited ({detail})", "被限流（{detail}）"),
    "reason_server_error": ("server error ({detail})", "服务器错误（{detail}）"),
    "reason_connect": ("cannot connect ({detail})", "无法连接（{detail}）"),
    "real_format_kept": (
        "The upstream sent {format} data, not PNG; saved it as .{ext}.",
        "上游返回的是 {format} 数据而不是 PNG，已保存为 .{ext}。",
    ),
    "config_insecure_mode": (
        "{path} can be read by other users; run: chmod 600 {path}",
        "{path} 可被其他用户读取；请运行：chmod 600 {path}",
    ),
    "config_ignored_key": (
        "ignoring unknown setting '{key}' in {path}",
        "忽略 {path} 中的未知设置项“{key}”",
    ),
    "config_saved": ("Saved {key} in {path}", "已将 {key} 保存到 {path}"),
    "config_removed": ("Removed {key} from {path}", "已从 {path} 删除 {key}"),
    "config_not_set": ("{key} was not set in {path}", "{path} 中没有设置 {key}"),
    "api_key_prompt": ("API key (input hidden)", "API 密钥（输入不显示）"),
    "summary_saved": (
        "{saved} of {total} image(s) saved in {folder}",
        "已保存 {saved}/{total} 张图片到 {folder}",
    ),
    # --- progress states -----------------------------------------------------------------------
    "state_queued": ("waiting", "等待中"),
    "state_requesting": ("generating", "生成中"),
    "state_processing": ("task {task_status}", "任务 {task_status}"),
    "state_retrying": ("retrying in {seconds:.0f} s", "{seconds:.0f} 秒后重试"),
    "state_downloading": ("downloading", "下载中"),
    "state_saved": ("saved {path}", "已保存 {path}"),
    "state_failed": ("failed", "失败"),
    "image_label": ("image {index}/{total}", "图片 {index}/{total}"),
    # --- tables --------------------------------------------------------------------------------
    "col_setting": ("Setting", "设置项"),
    "col_value": ("Value", "值"),
    "col_source": ("Source", "来源"),
    "col_style": ("Style", "风格"),
    "col_english": ("English name", "英文名"),
    "col_phrase": ("Adds to the prompt", "追加到提示词"),
    "source_default": ("default", "默认"),
    "source_file": ("config file", "配置文件"),
    "source_env": ("env {name}", "环境变量 {name}"),
    "source_flag": ("flag", "命令行参数"),
    "user_style": ("(yours)", "（自定义）"),
    "not_set": ("(not set)", "（未设置）"),
}


def set_language(lang: str) -> None:
    """Select the language for every later ``render`` call ('en' or 'zh')."""
    global _current
    _current = lang if lang in LANGUAGES else "en"


def current_language() -> str:
    return _current


def language_from_locale(environ: dict[str, str] | None = None) -> str:
    """'zh' when the first set locale variable starts with zh (LC_ALL > LC_MESSAGES > LANG), else 'en'."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def choose_language(flag: str | None, configured: str | None) -> str:
    """``--lang`` beats the ``lang`` setting (file or env), which beats the locale."""
    for candidate in (flag, configured):
        if candidate and candidate != "auto":
            return candidate
    return language_from_locale()


class Text:
    """A catalogue message rendered when shown, so it follows the language chosen later."""

    def __init__(self, message_id: str, /, **params: Any) -> None:
        self.message_id = message_id
        self.params = params

    def __str__(self) -> str:
        return render(self.message_id, **self.params)

    def __repr__(self) -> str:
        return f"Text({self.message_id!r})"


def render(message_id: str, /, lang: str | None = None, **params: Any) -> str:
    """Format a catalogue message; unknown ids render as the id so nothing is ever lost."""
    pair = CATALOGUE.get(message_id)
    if pair is None:
        return message_id
    text = pair[1] if (lang or _current) == "zh" else pair[0]
    try:
        return text.format(**params)
    except (KeyError, IndexError, ValueError):
        return text
