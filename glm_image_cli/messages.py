"""The message catalogue: every sentence a user reads, in English and Chinese.

One place for wording means both languages stay complete (a test checks it).  Which language to use is
explicit state: a ContextVar that the CLI edge sets for one invocation (``using_language``), so nothing
leaks into the next in-process run.  Choosing it (``--lang``, settings, locale) is glm_image_cli.cli.language's
job; this module imports nothing from the package, so anything may import it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

LANGUAGES = ("en", "zh")

# The language ``render`` and ``Text`` use when not given one.  Threads start from the default, not from
# their creator's value: code that renders in a worker thread must submit ``contextvars.copy_context().run``.
LANGUAGE: ContextVar[str] = ContextVar("glm_image_language", default="en")

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
    "invalid_text": (
        "The {field} holds characters that are not valid text (a lone surrogate, for example from bytes "
        "that are not UTF-8). Check the encoding of the terminal or of the file.",
        "{field} 中含有无效的文本字符（孤立的代理字符，例如来自非 UTF-8 的字节）。请检查终端或文件的编码。",
    ),
    "control_character": (
        "The {field} holds a control character ({character}); only newlines and tabs may be in it.",
        "{field} 中含有控制字符（{character}）；只允许换行和制表符。",
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
    "flag_bad_value": (
        "Invalid value for {flag}: {reason}.",
        "{flag} 的值无效：{reason}。",
    ),
    "env_bad_value": (
        "Invalid value for {env} (the environment variable for setting {key}): {reason}. Fix it or unset it.",
        "{env}（设置项 {key} 的环境变量）的值无效：{reason}。请修正或取消该变量。",
    ),
    "reason_model_typo": (
        "'{model}' is not a known model (did you mean {suggestion}?)",
        "“{model}”不是已知模型（你是不是想用 {suggestion}？）",
    ),
    "model_typo": (
        "Unknown model '{model}': did you mean {suggestion}? `glm-image models` lists the known models.",
        "未知模型“{model}”：你是不是想用 {suggestion}？`glm-image models` 列出已知模型。",
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
    "reason_time_zone": (
        "must be an IANA time zone name such as Asia/Shanghai, UTC or Europe/Berlin",
        "必须是 IANA 时区名，例如 Asia/Shanghai、UTC 或 Europe/Berlin",
    ),
    "reason_styles_table": (
        "[styles] must map each style name to a text phrase",
        "[styles] 必须把每个风格名映射到一段文字",
    ),
    "reason_prices_table": (
        "[prices] must map each model name to a price per image from 0 to {max:g} (a number, in the region's "
        "currency)",
        "[prices] 必须把每个模型名映射到 0 到 {max:g} 之间的单张价格（数字，按所在区域的币种）",
    ),
    "reason_invalid_text": (
        "must be valid text (it holds a lone surrogate, for example from bytes that are not UTF-8)",
        "必须是有效的文本（其中含有孤立的代理字符，例如来自非 UTF-8 的字节）",
    ),
    "reason_api_key_ascii": (
        "must be printable ASCII characters without spaces",
        "必须由不含空格的可打印 ASCII 字符组成",
    ),
    "reason_toml_type": ("must be a plain value, not a TOML {kind}", "必须是普通的值，不能是 TOML {kind}"),
    "detail_not_utf8": ("not UTF-8 at byte {offset}", "第 {offset} 字节处不是 UTF-8"),
    "detail_too_large": ("larger than {limit} bytes", "大于 {limit} 字节"),
    "detail_not_regular_file": ("not a regular file", "不是普通文件"),
    "detail_too_deep": ("nested too deeply", "嵌套层数过多"),
    "detail_image_too_large": ("the image is {width}×{height} pixels, more than the {limit} pixels shown",
                               "图片为 {width}×{height} 像素，超过可显示的 {limit} 像素"),
    "detail_image_too_many_pixels": ("the image has {pixels} pixels, more than the {limit} shown",
                                     "图片有 {pixels} 像素，超过可显示的 {limit} 像素"),
    "detail_is_folder": ("it is a folder", "这是一个文件夹"),
    "detail_not_a_folder": ("it is a file, not a folder", "这是一个文件，不是文件夹"),
    "detail_symlink": ("it is a symbolic link, which glm-image never writes over",
                       "这是一个符号链接，glm-image 不会覆盖它"),
    # --- output --------------------------------------------------------------------------------
    "output_not_writable": (
        "Cannot write to the output folder {path} ({detail}). Choose another with -o "
        "or `glm-image config set output-dir DIR`.",
        "无法写入输出文件夹 {path}（{detail}）。请用 -o 或 `glm-image config set output-dir 目录` 换一个。",
    ),
    # --- upstream ------------------------------------------------------------------------------
    "auth_failed": (
        "{service} rejected the API key ({detail}). `glm-image config show` says where it comes from: set a valid "
        "one there (`glm-image config set api-key`, or the environment variable that holds it, which wins).",
        "{service} 拒绝了 API 密钥（{detail}）。`glm-image config show` 会显示它的来源：请在那里设置有效的密钥"
        "（`glm-image config set api-key`，或保存它的环境变量，环境变量优先）。",
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
        "{service} refused this prompt or its image on content-safety grounds ({detail}). "
        "Rephrase the prompt; the same prompt will be refused again.",
        "{service} 出于内容安全原因拒绝了此提示词或生成的图片（{detail}）。请修改提示词，原样重试仍会被拒绝。",
    ),
    "upstream_refused": (
        "{service} refused the request ({detail}).",
        "{service} 拒绝了请求（{detail}）。",
    ),
    "rate_limited": (
        "{service} is still rate limiting after {attempts} attempts ({detail}). Wait a minute, "
        "or lower concurrency: `glm-image config set concurrency 1`.",
        "重试 {attempts} 次后 {service} 仍在限流（{detail}）。请稍等一分钟再试，"
        "或降低并发：`glm-image config set concurrency 1`。",
    ),
    "upstream_error": (
        "{service} failed with a server error ({detail}). Try again later.",
        "{service} 返回了服务器错误（{detail}）。请稍后再试。",
    ),
    "gateway_maybe_charged": (
        "{service}'s gateway answered {detail} after the request was sent: the image may still have been "
        "made and billed, so it was not retried. Check your bill, then re-run (or pass --retry-unsafe).",
        "请求发出后 {service} 的网关返回 {detail}：图片可能已生成并计费，因此没有自动重试。"
        "请先核对账单再重新运行（或加 --retry-unsafe）。",
    ),
    "response_timeout_maybe_charged": (
        "No answer from {service} within {timeout} s after the request was sent: the image may still be "
        "made and billed, so it was not retried. Raise the timeout (`glm-image config set timeout 300`) "
        "or pass --retry-unsafe.",
        "请求发出后 {timeout} 秒内 {service} 没有回应：图片可能仍会生成并计费，因此没有自动重试。"
        "请调大超时（`glm-image config set timeout 300`）或加 --retry-unsafe。",
    ),
    "response_lost_maybe_charged": (
        "The connection to {service} broke after the request was sent ({detail}): the image may have been "
        "billed, so it was not retried. Check your bill, then re-run (or pass --retry-unsafe).",
        "请求发出后与 {service} 的连接中断（{detail}）：图片可能已经计费，因此没有自动重试。"
        "请先核对账单再重新运行（或加 --retry-unsafe）。",
    ),
    "response_lost_retried": (
        "The connection to {service} broke after the request was sent ({detail}), on each of {attempts} "
        "attempt(s) with --retry-unsafe: each may have been billed, and the ledger counts every one. Check your "
        "bill before running it again.{stopped}",
        "请求发出后与 {service} 的连接中断（{detail}），按 --retry-unsafe 共发送 {attempts} 次，每次都中断：每次都"
        "可能已经计费，账本逐次记录。再次运行前请先核对账单。{stopped}",
    ),
    "response_timeout_retried": (
        "No answer from {service} within {timeout} s after the request was sent, on each of {attempts} attempt(s) "
        "with --retry-unsafe: each may have been billed, and the ledger counts every one. Check your bill before "
        "running it again, or raise the timeout (`glm-image config set timeout 300`).{stopped}",
        "请求发出后 {timeout} 秒内 {service} 没有回应，按 --retry-unsafe 共发送 {attempts} 次，每次都如此：每次都"
        "可能已经计费，账本逐次记录。再次运行前请先核对账单，或调大超时（`glm-image config set timeout 300`）。"
        "{stopped}",
    ),
    "gateway_maybe_charged_retried": (
        "{service}'s gateway answered {detail} after the request was sent, on each of {attempts} attempt(s) with "
        "--retry-unsafe: each may have been billed, and the ledger counts every one. Check your bill before "
        "running it again.{stopped}",
        "请求发出后 {service} 的网关返回 {detail}，按 --retry-unsafe 共发送 {attempts} 次，每次都如此：每次都可能"
        "已经计费，账本逐次记录。再次运行前请先核对账单。{stopped}",
    ),
    "retry_stopped_budget": (
        " It was not sent again: another attempt would not fit the budget ({key}).",
        "未再次发送：再试一次会超出预算（{key}）。",
    ),
    "retry_stopped": (" It was not sent again: {reason}", "未再次发送：{reason}"),
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
    "batch_bad_csv": ("not valid CSV ({detail})", "不是有效的 CSV（{detail}）"),
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
    "batch_field_number": ("field '{field}' must be a whole number", "字段“{field}”必须是整数"),
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
        "{count} image(s) may have been billed (their answer was lost or the run stopped while they were in "
        "flight); they are not requested again. Pass --retry-unsafe to request them anyway.",
        "有 {count} 张图片可能已经计费（应答丢失，或运行在请求途中停止），本次不再请求。"
        "如仍要重新请求，请加 --retry-unsafe。",
    ),
    "batch_stopped": (
        "Stopped sending: {reason} The other {count} image(s) were not sent; "
        "run the same command again to resume once this is fixed.",
        "已停止发送：{reason} 其余 {count} 张图片未发送；问题解决后重新运行同一命令即可继续。",
    ),
    "folder_in_use": (
        "Another glm-image batch is using {path} (pid {pid} on {host}, started {started}); nothing was sent. "
        "Wait for it to finish, or choose another folder with -o.",
        "另一个 glm-image 批次正在使用 {path}（{host} 上的进程 {pid}，开始于 {started}），未发送任何请求。"
        "请等它结束，或用 -o 换一个文件夹。",
    ),
    "folder_lock_lost": (
        "The lock file {name} in {path} was deleted or replaced while this batch ran; another run may be using "
        "the folder, so nothing more was sent. Run the same command again once no other batch uses it.",
        "本批次运行期间，{path} 中的锁文件 {name} 被删除或替换；可能有另一个运行在使用该文件夹，因此不再发送请求。"
        "确认没有其他批次使用该文件夹后，重新运行同一命令即可。",
    ),
    "batch_manifest_damaged": (
        "{count} damaged line(s) in {path} were skipped (a crash or a stray byte); every whole record was kept.",
        "{path} 中有 {count} 行已损坏（崩溃或异常字节），已跳过；完整的记录均已保留。",
    ),
    "not_sent_interrupted": (
        "{count} image(s) were not sent (nothing was paid for them).",
        "有 {count} 张图片未发送（未为它们付费）。",
    ),
    "not_sent_after_stop": (
        "{count} image(s) were not sent: they would have failed the same way.",
        "其余 {count} 张图片未发送：它们会以同样的方式失败。",
    ),
    "saved_under_plain_name": (
        "An image could not be saved under the name asked for ({detail}); it was kept as {path}. "
        "Choose a shorter --name template.",
        "图片无法以指定的名称保存（{detail}），已另存为 {path}。请使用更短的 --name 模板。",
    ),
    "name_too_long": (
        "The file name '{name}' would be {size} bytes; this file system allows {limit}. "
        "Shorten the --name template (or the item's name); nothing was sent.",
        "文件名“{name}”将有 {size} 字节，此文件系统最多允许 {limit} 字节。"
        "请缩短 --name 模板（或该项的 name），未发送任何请求。",
    ),
    "path_too_long": (
        "An image's path would be {size} bytes; this system allows {limit}. "
        "Use a shorter output folder or --name template; nothing was sent.",
        "图片路径将有 {size} 字节，此系统最多允许 {limit} 字节。请使用更短的输出目录或 --name 模板，未发送任何请求。",
    ),
    "batch_found_on_disk": (
        "{count} image(s) missing from the manifest were found in the folder (their recipes name this batch's "
        "items) and count as made.",
        "清单中缺失的 {count} 张图片在文件夹中找到（其内嵌配方对应本批次的项），视为已生成。",
    ),
    "batch_recovering": (
        "{count} image(s) paid for by an earlier run but not saved are fetched from their recorded URLs "
        "(no new charge).",
        "上次运行已付费但未保存的 {count} 张图片将从记录的网址重新下载（不会再次计费）。",
    ),
    "concurrency_refused": (
        "BigModel refused the call: this account has too many calls in flight for the model ({detail}). "
        "It was not billed; lower -j if this keeps happening.",
        "BigModel 拒绝了该调用：此账号对该模型的并发调用过多（{detail}）。该调用未计费；如持续出现，请降低 -j。",
    ),
    "journal_unwritable": (
        "Cannot write the batch manifest {path} ({detail}); stopped before sending more requests. "
        "Free some space or fix the folder's permissions, then run the same command again.",
        "无法写入批次清单 {path}（{detail}），已在发送更多请求前停止。"
        "请腾出空间或修正文件夹权限，然后重新运行同一命令。",
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
    "batch_failed_fix": (
        "{count} image(s) were refused for their parameters ({codes}): fix them in {path}, then run: {command}",
        "有 {count} 张图片因参数被拒绝（{codes}）：请在 {path} 中修正，然后运行：{command}",
    ),
    "batch_failed_again": (
        "{count} image(s) failed on the upstream's side ({codes}); nothing needs editing. Run the same command "
        "again once it has recovered (made images are skipped, failed ones retried): {command}",
        "有 {count} 张图片因上游原因失败（{codes}），无需修改。待上游恢复后重新运行同一命令即可"
        "（已生成的跳过，失败的重试）：{command}",
    ),
    "batch_resume": (
        "To resume ({count} image(s) not sent), run: {command}",
        "如要继续（{count} 张图片未发送），请运行：{command}",
    ),
    "batch_interrupted_waiting": (
        "Interrupted: no new requests; waiting for {count} in flight (they may be billed). "
        "Ctrl-C again abandons them (a re-run will not resend them).",
        "已中断：不再发送新请求，正在等待已发出的 {count} 个请求（可能已计费）。"
        "再按一次 Ctrl-C 放弃它们（重新运行时不会重复发送）。",
    ),
    "batch_max_images": ("--max-images must be at least 1.", "--max-images 至少为 1。"),
    "summary_limit": ("calls in flight, {model}", "同时调用数，{model}"),
    "summary_limit_value": ("{limit} ({refused} refused, not billed)", "{limit}（被拒 {refused} 次，未计费）"),
    "summary_limit_known": ("{limit} (account limit {account}; {refused} refused, not billed)",
                            "{limit}（账号上限 {account}；被拒 {refused} 次，未计费）"),
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
    "batch_in_flight": ("{count} in flight", "进行中 {count}"),
    "batch_eta": ("~{time} left", "约剩 {time}"),
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
    "api_saturated": ("The server is busy with other images; try again shortly.",
                      "服务器正忙于生成其他图片，请稍后再试。"),
    "api_field_required": ("'{field}' is required.", "缺少必填字段“{field}”。"),
    "api_field_string": ("'{field}' must be a string.", "“{field}”必须是字符串。"),
    "api_field_boolean": ("'{field}' must be true or false.", "“{field}”必须是 true 或 false。"),
    "api_field_empty": ("'{field}' must not be empty.", "“{field}”不能为空。"),
    "api_field_integer": ("'{field}' must be a whole number.", "“{field}”必须是整数。"),
    "api_field_range": ("'{field}' must be between {low} and {high}.", "“{field}”必须在 {low} 到 {high} 之间。"),
    "api_width_height": ("Give both 'width' and 'height', or neither.", "请同时给出 width 和 height，或都不给。"),
    "api_response_format": ("'response_format' must be 'url' or 'b64_json'.",
                            "response_format 必须是 url 或 b64_json。"),
    "api_internal": ("internal error: {detail}", "内部错误：{detail}"),
    "api_not_found": ("No endpoint {path}. Endpoints: {endpoints}.", "没有接口 {path}。可用接口：{endpoints}。"),
    "api_method": ("{path} accepts {method} only.", "{path} 只接受 {method} 请求。"),
    "api_rate_limited": ("Too many requests from this client; slow down.", "此客户端请求过于频繁，请放慢速度。"),
    "api_unauthorized": (
        "A valid 'Authorization: Bearer <token>' header is required.",
        "需要有效的 'Authorization: Bearer <令牌>' 请求头。",
    ),
    "api_length_required": (
        "Send a Content-Length header (chunked bodies are not accepted).",
        "请发送 Content-Length 请求头（不接受分块传输的请求体）。",
    ),
    "api_bad_length": ("Invalid Content-Length.", "Content-Length 无效。"),
    "api_too_large": ("The request body is larger than {limit} bytes.", "请求体超过 {limit} 字节。"),
    "api_too_many_images": ("At most {limit} images per edit.", "每次编辑最多 {limit} 张图片。"),
    "api_too_many_parts": ("At most {limit} parts per multipart body.", "multipart 请求体最多 {limit} 个部分。"),
    "api_invalid_json": ("The body is not valid UTF-8 JSON ({detail}).", "请求体不是有效的 UTF-8 JSON（{detail}）。"),
    "api_not_object": ("The body must be a JSON object.", "请求体必须是 JSON 对象。"),
    "models_offered": ("Models offered by {base}:", "{base} 提供的模型："),
    "models_not_offered": (
        "{base} does not list its models (GET /models); give the model name the server expects with -m.",
        "{base} 不提供模型列表（GET /models）；请用 -m 指定服务器要求的模型名。",
    ),
    "col_owner": ("Owner", "所有者"),
    "service_image_server": ("the image server", "图片服务器"),  # {service} on the openai backend
    "api_not_multipart": ("The body must be multipart/form-data with the image(s) and the prompt.",
                          "请求体必须是包含图片和 prompt 的 multipart/form-data。"),
    "api_json_too_deep": ("The JSON body is nested too deeply.", "请求体的 JSON 嵌套层数过深。"),
    "api_field_surrogate": (
        "'{field}' contains an unpaired UTF-16 surrogate (\\ud800-\\udfff); send valid Unicode text.",
        "“{field}”包含不成对的 UTF-16 代理项（\\ud800-\\udfff），请发送有效的 Unicode 文本。",
    ),
    "api_auth_locked": (
        "Too many failed token attempts from this client; wait before trying again.",
        "此客户端令牌验证失败次数过多，请稍后再试。",
    ),
    "api_connections_full": (
        "The server has too many open connections; try again shortly.",
        "服务器打开的连接过多，请稍后再试。",
    ),
    "api_bad_request_line": (
        "Malformed HTTP request; send 'METHOD /path HTTP/1.1' followed by headers.",
        "HTTP 请求格式错误；请发送“方法 /路径 HTTP/1.1”及请求头。",
    ),
    "api_version_unsupported": ("Only HTTP/1.0 and HTTP/1.1 are supported.", "仅支持 HTTP/1.0 和 HTTP/1.1。"),
    "api_headers_too_large": ("The request line or headers are too long or too many.",
                              "请求行或请求头过长或过多。"),
    "api_method_unsupported": ("Method {method} is not supported.", "不支持 {method} 方法。"),
    "serve_connections_full": (
        "connection limit of {limit} reached: new connections get 503 until some close",
        "已达到 {limit} 个连接的上限：在有连接关闭前，新连接将收到 503",
    ),
    "ping_config": ("config file", "配置文件"),
    "ping_key": ("API key", "API 密钥"),
    "ping_base_url": ("base URL", "接口地址"),
    "ping_dns": ("DNS", "域名解析"),
    "ping_reach": ("reachable", "可连接"),
    "ping_reach_https": ("answered over HTTPS (encrypted)", "已通过 HTTPS（加密）连接并得到回答"),
    "ping_reach_http": ("answered over plain HTTP (not encrypted)", "已通过 HTTP（未加密）连接并得到回答"),
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
        "accepted: a free check request was not refused for the key (the API answered {detail}); "
        "no image was made",
        "有效：免费检查请求没有因密钥被拒绝（接口返回 {detail}）；未生成图片",
    ),
    "ping_accepted_not_found": (
        "accepted: a free check asked for a task that does not exist and got \"no such task\" ({detail}), "
        "an answer given only once the key is accepted; no image was made",
        "有效：免费检查查询了一个不存在的任务，得到“任务不存在”（{detail}），只有密钥通过验证后才会这样回答；"
        "未生成图片",
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
        "The images are saved, but the history could not be recorded: {detail}",
        "图片已保存，但无法写入历史记录：{detail}",
    ),
    "history_not_recorded_nothing_saved": (
        "No image was saved in this run, and the history could not record it either: {detail}",
        "本次运行没有保存任何图片，历史记录也无法写入：{detail}",
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
    "history_more": (
        "Showing {shown} of {total}; --limit N for more.",
        "显示了 {total} 条中最新的 {shown} 条；用 --limit N 查看更多。",
    ),
    "history_cleared": ("Removed {count} history entries.", "已删除 {count} 条历史记录。"),
    "history_clear_confirm": ("Delete all {count} history entries?", "确定删除全部 {count} 条历史记录吗？"),
    "history_clear_needs_yes": (
        "Clearing the history needs confirmation and there is no terminal to ask on; pass --yes.",
        "清除历史记录需要确认，但没有可交互的终端；请加 --yes。",
    ),
    "again_edit_sources": (
        "Entry {id} is an edit, and its source image {path} is gone or has changed since; nothing was sent. "
        "Run `glm-image edit` with the images you want.",
        "记录 {id} 是一次编辑，其源图片 {path} 已不存在或已改变，未发送任何请求。"
        "请用 `glm-image edit` 指定要编辑的图片。",
    ),
    "history_no_prompt": (
        "History entry {id} has no prompt to run again.",
        "历史记录 {id} 没有可重新运行的提示词。",
    ),
    "info_not_png": (
        "{path}: not a PNG image; `glm-image info` reads the recipe glm-image saves in its PNG images.",
        "{path}：不是 PNG 图片；`glm-image info` 读取 glm-image 保存在 PNG 图片中的配方。",
    ),
    "info_damaged_png": ("{path}: a damaged PNG image ({detail}).", "{path}：PNG 图片已损坏（{detail}）。"),
    "info_foreign": (
        "{path}: a PNG without a glm-image recipe (made by another tool, or saved with --no-metadata).",
        "{path}：PNG 中没有 glm-image 配方（由其他工具生成，或保存时用了 --no-metadata）。",
    ),
    "info_unreadable": ("{path}: cannot read it ({detail}).", "{path}：无法读取（{detail}）。"),
    "gallery_written": ("Gallery written: {path}", "图库已生成：{path}"),
    "gallery_no_browser": (
        "No web browser could be opened here; open {path} yourself.",
        "此处无法打开网页浏览器；请自行打开 {path}。",
    ),
    "preview_needs_pillow": (
        "Pictures in the terminal and contact sheets need Pillow: pip install 'glm-image[preview]'.",
        "在终端中显示图片和生成缩略图总览需要 Pillow：pip install 'glm-image[preview]'。",
    ),
    "preview_failed": ("Could not draw the preview: {detail}", "无法显示预览：{detail}"),
    "show_not_found": (
        "'{target}' is not an image, a folder of images or a history id.",
        "“{target}”不是图片、图片文件夹或历史记录编号。",
    ),
    "show_no_images": ("No images to show in {target}.", "{target} 中没有可显示的图片。"),
    "show_not_terminal": (
        "stdout is not a terminal: no picture drawn (use --json for the recipes).",
        "标准输出不是终端：未显示图片（使用 --json 查看生成参数）。",
    ),
    "grid_skipped": ("Left {path} out of the sheet ({detail}).", "已从拼图中略去 {path}（{detail}）。"),
    "grid_no_font": (
        "No font with Chinese glyphs was found (e.g. install fonts-noto-cjk): the sheet has no labels.",
        "未找到含中文字形的字体（例如安装 fonts-noto-cjk）：总览图不含标签。",
    ),
    "grid_written": ("Contact sheet written: {path} ({count} images)", "缩略图总览已生成：{path}（{count} 张图片）"),
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
    "name_template_width": (
        "The name template '{template}' has the format '{spec}': widths and precisions must be plain numbers up to "
        "{limit}. Example: --name \"{{index:04d}}-{{slug}}\"",
        "文件名模板“{template}”中的格式“{spec}”不可用：宽度和精度必须是不超过 {limit} 的数字。"
        "示例：--name \"{{index:04d}}-{{slug}}\"",
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
    "spend_needs_consent": (
        "This run would cost about {cost:.2f} {currency} (above confirm-above = {limit:g}) and no consent was "
        "given. Pass consent= (a function of the estimate) to generate(), or raise the limit: "
        "overrides={{'confirm-above': 5}}",
        "本次运行预计花费约 {cost:.2f} {currency}（超过 confirm-above = {limit:g}），且未给出同意。"
        "请为 generate 传入 consent 参数（一个接收估算的函数），或调高限额：overrides={{'confirm-above': 5}}",
    ),
    "api_bad_argument": (
        "{name} must be {expected}, not {got}.",
        "{name} 应为 {expected}，而不是 {got}。",
    ),
    "spend_question_enhance": (
        "This will make {images} image(s) with {models} and {chats} prompt rewrite(s) with {chat_models}, "
        "estimated {cost:.2f} {currency}{unknown}. Continue?",
        "将使用 {models} 生成 {images} 张图片，并用 {chat_models} 改写 {chats} 次提示词，预计 {cost:.2f} {currency}"
        "{unknown}。是否继续？",
    ),
    "spend_unknown_chat": ("; {count} rewrite(s) of unknown price", "；另有 {count} 次改写价格未知"),
    # --- --review (generate, again, batch with --enhance) ---
    "review_needs_terminal": (
        "--review asks on a terminal, and there is none. Pass --yes to accept the rewrite as it is, or drop "
        "--review.",
        "--review 需要在终端上询问，但当前没有终端。请加 --yes 直接采用改写结果，或去掉 --review。",
    ),
    "review_question": ("[a]ccept, [e]dit or [c]ancel this rewrite?", "采用 [a]、编辑 [e] 还是取消 [c] 这次改写？"),
    "review_edit_inline": ("Prompt to send", "要发送的提示词"),
    "review_cancelled": ("Cancelled: no image was requested.", "已取消：未请求任何图片。"),
    "review_item": ("Item {number:04d}", "第 {number:04d} 项"),
    # --- spend ledger, budgets, usage (glm_image_cli.core.ledger, commands/usage_cmd.py) ---
    "budget_exceeded": (
        "Over the {period} budget: {budget:g} {currency}, of which {spent:.2f} is already spent or held, and this "
        "needs about {cost:.2f} more (estimates from the reference price table). Nothing was sent; --yes does not "
        "bypass a budget. Raise it (glm-image config set {key} VALUE) or wait for the next period.",
        "超出{period}预算：预算 {budget:g} {currency}，已花费或预留 {spent:.2f}，本次还需约 {cost:.2f}"
        "（按参考价目表估算）。未发送任何请求；--yes 不能绕过预算。可调高预算（glm-image config set {key} 数值）"
        "或等到下一周期。",
    ),
    "budget_unknown_price": (
        "A budget is set ({key}), but {model} has no known price, so its images cannot be counted against it: "
        "nothing was sent. Add the model to [prices] in the config file {path} (a line such as \"{model}\" = "
        "0.1, in {currency} per image).",
        "已设置预算（{key}），但 {model} 没有已知价格，其图片无法计入预算：未发送任何请求。请在配置文件 {path} "
        "的 [prices] 中加入该模型（例如一行 \"{model}\" = 0.1，单位为每张 {currency}）。",
    ),
    "budget_period_daily": ("daily", "每日"),
    "budget_period_monthly": ("monthly", "每月"),
    "ledger_unusable": (
        "Cannot record the spend in {path} ({detail}); nothing was sent.",
        "无法在 {path} 中记录花费（{detail}）；未发送任何请求。",
    ),
    "batch_budget_capped": (
        "The budget leaves room for {count} of {total} image(s): making those, the rest is left for a later run.",
        "预算只够 {total} 张中的 {count} 张：先生成这些，其余留待以后运行。",
    ),
    "usage_note": (
        "Estimates from the reference price table ({date}), not the platform's bill; the console has the real "
        "figures.",
        "以上为按参考价目表（{date}）估算的金额，并非平台账单；实际费用以控制台为准。",
    ),
    "usage_total": (
        "{requests} request(s), {billed} billed or maybe billed, about {cost:.2f} {currency}{since}.",
        "{requests} 次请求，{billed} 次已计费或可能计费，约 {cost:.2f} {currency}{since}。",
    ),
    "usage_since": (" since {since}", "（自 {since} 起）"),
    "usage_budget": (
        "{period} budget: {spent:.2f} of {budget:g} {currency} spent or held.",
        "{period}预算：已花费或预留 {spent:.2f} / {budget:g} {currency}。",
    ),
    "usage_nothing": ("No spend recorded{since}.", "没有花费记录{since}。"),
    "usage_uncertain": (
        "{count} request(s) lost their answer and may have been billed: counted.",
        "{count} 次请求的应答丢失，可能已计费：已计入。",
    ),
    "usage_pending_stopped": (
        "{count} request(s) were never settled (the process stopped after writing the ledger, before the answer "
        "was recorded): they may have been billed, and are counted.",
        "{count} 次请求未能结算（进程在写入账本之后、记录应答之前停止）：可能已计费，已计入。",
    ),
    "usage_pending_open": (
        "{count} request(s) are still in progress: counted as billed until they finish.",
        "{count} 次请求仍在进行中：结束前按已计费计入。",
    ),
    "config_show_prices": (
        "Price overrides ([prices], {currency} per image, instead of the reference table of {date}): {prices}",
        "价格覆盖（[prices]，每张 {currency}，代替 {date} 的参考价目表）：{prices}",
    ),
    "col_requests": ("requests", "请求"),
    "col_billed": ("billed", "计费"),
    "col_cost": ("estimated", "估算"),
    # --- config import (glm_image_cli.storage.envimport) ---
    "env_file_unreadable": ("Cannot read {path} ({detail}).", "无法读取 {path}（{detail}）。"),
    "import_secret_ignored": (
        "GLM_API_SECRET is ignored: the platform uses the API key alone.",
        "已忽略 GLM_API_SECRET：平台只需要 API 密钥。",
    ),
    "import_legacy_model": (
        "{model} is kept as you chose it, but it is a legacy model the platform no longer documents; "
        "consider a current one: glm-image config set model cogview-4-250304 (or glm-image).",
        "已按原设置保留 {model}，但它是平台不再提供文档的旧模型；建议改用当前模型："
        "glm-image config set model cogview-4-250304（或 glm-image）。",
    ),
    "import_size_half": (
        "Only one of DEFAULT_WIDTH and DEFAULT_HEIGHT is set: size not imported.",
        "DEFAULT_WIDTH 与 DEFAULT_HEIGHT 只设置了一个：未导入尺寸。",
    ),
    "import_unknown": ("{name} is not a setting of the original skill: ignored.", "{name} 不是原技能的设置：已忽略。"),
    "import_bad_value": ("{name}: {reason}; not imported.", "{name}：{reason}；未导入。"),
    "import_change": ("{key}: {old} → {new}", "{key}：{old} → {new}"),
    "import_same": ("{key}: {value} (unchanged)", "{key}：{value}（未变）"),
    "import_dry_run": ("Dry run: nothing was written to {path}.", "演练：未写入 {path}。"),
    "import_done": ("Imported {count} setting(s) into {path}.", "已导入 {count} 项设置到 {path}。"),
    "import_nothing": ("Nothing to import from {path}.", "{path} 中没有可导入的设置。"),
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
    "content_filter_flagged": ("content review flagged {what}: {severity}", "内容审核标记了{what}：{severity}"),
    "content_filter_assistant": ("the image", "图片"),
    "content_filter_user": ("the prompt", "提示词"),
    "content_filter_history": ("earlier messages", "历史消息"),
    "content_filter_level_0": ("severe", "严重"),
    "content_filter_level_1": ("moderate", "中等"),
    "content_filter_level_2": ("mild", "轻微"),
    "list_separator": ("; ", "；"),
    "batch_content_blocked": (
        "{count} prompt(s) were refused on content-safety grounds: rephrase them in {path}, then run: {command}",
        "有 {count} 个提示词因内容安全原因被拒绝：请在 {path} 中修改，然后运行：{command}",
    ),
    # --- generic -------------------------------------------------------------------------------
    "interrupted": ("Interrupted.", "已中断。"),
    "abandoned_in_flight": (
        "{count} image(s) still in flight were abandoned: they may be billed (glm-image usage counts them).",
        "已放弃仍在进行中的 {count} 张图片：它们可能已计费（glm-image usage 会计入）。",
    ),
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
    "enhance_rewrite": (
        "Prompt rewritten by {model}: {text}",
        "提示词已由 {model} 改写：{text}",
    ),
    "enhance_cached": (
        "Prompt rewrite (cached, from {model}): {text}",
        "提示词改写（缓存，来自 {model}）：{text}",
    ),
    "enhance_failed": (
        "Prompt enhancement with {model} failed; no image was requested.",
        "使用 {model} 改写提示词失败，未请求任何图片。",
    ),
    "enhance_failed_item": (
        "prompt enhancement failed, no image requested: {message}",
        "提示词改写失败，未请求图片：{message}",
    ),
    "enhance_model_unknown_warning": (
        "Chat model '{model}' is not in glm-image's table; sending it as is (it may not be free).",
        "对话模型“{model}”不在 glm-image 的模型表中，将原样发送（可能不是免费模型）。",
    ),
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
    "state_not_sent": ("not sent", "未发送"),
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
    "col_recommended": ("Sizes", "推荐尺寸"),
    "col_rule": ("Custom sizes", "自定义尺寸规则"),
    "col_quality": ("Quality", "画质"),
    "col_price": ("Price per image", "单张价格"),
    "size_rule_short": (
        "{min_side}–{max_side} px, ×{multiple}, ≤ {megapixels:.1f} MP",
        "{min_side}–{max_side} 像素，{multiple} 的倍数，≤ {megapixels:.1f} 百万像素",
    ),
    "model_any_size": ("not checked", "不检查"),
    "model_free": ("free", "免费"),
    # --- glm-image chat ----------------------------------------------------------------------------
    "chat_welcome": (
        "glm-image chat: {model}, size {size}, n={n}, style {style}, enhance {enhance}. Describe a picture; "
        "/help lists the commands, /quit or Ctrl-D ends.",
        "glm-image chat：{model}，尺寸 {size}，n={n}，风格 {style}，改写 {enhance}。描述一张图即可；"
        "/help 列出命令，/quit 或 Ctrl-D 结束。",
    ),
    "chat_help": (
        "Type a description to make images; with enhance on, the next line refines the last picture "
        "(\"make the sky darker\", \"更红一些\").\n"
        "  /n N            images per turn\n  /style NAME     style preset (/style none: no preset)\n"
        "  /size WxH       image size\n  /model NAME     image model\n"
        "  /negative TEXT  what the pictures should not show (/negative none: nothing)\n"
        "  /enhance on|off rewrite with the chat model, seeing the conversation\n"
        "  /check on|off   judge each image with the free vision model (score, text read)\n"
        "  /again          the current prompt again\n  /undo           back to the previous prompt\n"
        "  /prompt         show the current full prompt\n  /history        this session's turns\n"
        "  /open           open the last image in the system viewer\n  /help, /quit",
        "输入描述即可生图；改写开启时，下一句会在上一张图的基础上修改（“更红一些”、“天空暗一点”）。\n"
        "  /n N            每轮张数\n  /style 名称     风格预设（/style none：不用预设）\n"
        "  /size 宽x高     图片尺寸\n  /model 名称     图像模型\n"
        "  /negative 文字  画面中不希望出现的内容（/negative none：不用）\n"
        "  /enhance on|off 用对话模型结合上下文改写提示词\n"
        "  /check on|off   用免费视觉模型检查每张图片（评分、识别文字）\n"
        "  /again          用当前提示词再生成一次\n  /undo           回到上一个提示词\n"
        "  /prompt         显示当前完整提示词\n  /history        本次会话的各轮\n"
        "  /open           用系统看图程序打开最后一张图\n  /help、/quit",
    ),
    "chat_set": ("{name}: {value}", "{name}：{value}"),
    "chat_bad_value": ("{name} needs {expected}", "{name} 需要 {expected}"),
    "chat_unknown_command": ("Unknown command {name}; /help lists the commands.",
                             "未知命令 {name}；/help 列出全部命令。"),
    "chat_no_prompt": ("No prompt yet: describe a picture first.", "还没有提示词：请先描述一张图。"),
    "chat_no_image": ("No image yet.", "还没有图片。"),
    "chat_undo": ("Back to: {prompt}", "已回到：{prompt}"),
    "chat_undo_empty": ("Nothing before this: the next line starts a new picture.",
                        "没有更早的提示词：下一句将开始一张新图。"),
    "chat_history_empty": ("No turns yet.", "还没有任何一轮。"),
    "chat_history_line": ("{number}. {typed} ({images} image(s)): {prompt}",
                          "{number}. {typed}（{images} 张）：{prompt}"),
    "chat_opened": ("Opened {path}", "已打开 {path}"),
    "chat_no_viewer": ("No system image viewer found here; the image is {path}",
                       "这里没有可用的系统看图程序；图片位于 {path}"),
    "pending_jobs_left": (
        "{count} image(s) paid for are still being made upstream; `glm-image collect` fetches and saves them "
        "(without paying again).",
        "{count} 张已付费的图片仍在上游生成中；`glm-image collect` 会取回并保存（不会重复付费）。",
    ),
    "collect_none": ("No pending jobs.", "没有待取回的任务。"),
    "collect_item": ("{task_id}  {model}  {prompt}  -> {folder}", "{task_id}  {model}  {prompt}  -> {folder}"),
    "chat_cancelled": ("Turn cancelled; nothing more was sent.", "本轮已取消，未再发送任何请求。"),
    "chat_turn_total": ("This turn about {cost:.2f} {currency}; this session about {total:.2f} {currency} "
                        "(estimated).", "本轮约 {cost:.2f} {currency}；本次会话共约 {total:.2f} {currency}（估算）。"),
    "chat_summary": ("Session ended: {turns} turn(s), {images} image(s) saved, about {cost:.2f} {currency} "
                     "(estimated).", "会话结束：{turns} 轮，保存 {images} 张图片，约 {cost:.2f} {currency}（估算）。"),
    "model_price_unknown": ("unknown", "未知"),
    "model_async": ("(asynchronous)", "（异步）"),
    "model_legacy_note": (
        "* legacy model, no longer documented: accepted, sizes not checked. Prices from the reference table.",
        "* 旧模型，已无文档：可以使用，但不检查尺寸。价格来自参考价格表。",
    ),
    "source_default": ("default", "默认"),
    "source_file": ("config file", "配置文件"),
    "source_env": ("env {name}", "环境变量 {name}"),
    "source_flag": ("flag", "命令行参数"),
    "source_profile": ("profile {name}", "配置档 {name}"),
    # --- backends, profiles and edit (issue 20) ---------------------------------------------------
    "profile_unknown": (
        "There is no profile '{profile}' in {path} (profiles: {profiles}). Create it with: "
        "glm-image config set --profile {profile} backend openai",
        "{path} 中没有配置档“{profile}”（已有：{profiles}）。创建方法：glm-image config set --profile {profile} "
        "backend openai",
    ),
    "reason_profile_name": (
        "a profile name is 1 to 64 letters, digits, - or _",
        "配置档名称须为 1 到 64 个字母、数字、- 或 _",
    ),
    "reason_profiles": (
        "[profiles] must hold one table of settings per profile ([profiles.NAME])",
        "[profiles] 中每个配置档必须是一张设置表（[profiles.NAME]）",
    ),
    "config_show_profile": ("Profile: {profile} (settings from [profiles.{profile}] replace the top-level ones)",
                            "配置档：{profile}（[profiles.{profile}] 中的设置覆盖顶层设置）"),
    "edit_unsupported": (
        "The hosted BigModel API has no image editing endpoint; edit works on the openai backend "
        "(a self-hosted server such as SGLang). Add a profile for it, so generate keeps BigModel: "
        "glm-image config set --profile local backend openai; glm-image config set --profile local base-url "
        "http://HOST:PORT/v1; then glm-image --profile local edit …",
        "托管的 BigModel API 没有图片编辑接口；edit 需要 openai 后端（如 SGLang 等自建服务）。"
        "为它添加一个配置档，generate 仍使用 BigModel：glm-image config set --profile local backend openai；"
        "glm-image config set --profile local base-url http://HOST:PORT/v1；然后 glm-image --profile local edit …",
    ),
    "edit_image_unreadable": (
        "Cannot use {path} as an image to edit ({detail}).",
        "无法将 {path} 作为要编辑的图片（{detail}）。",
    ),
    "user_style": ("(yours)", "（自定义）"),
    "not_set": ("(not set)", "（未设置）"),
    # MCP background jobs (submit_image / job_status / fetch_image) and progress notifications
    "mcp_progress": ("{done} of {total} image(s) done, {working} in progress",
                     "已完成 {done}/{total} 张，{working} 张进行中"),
    "mcp_progress_upstream": ("{done} of {total} image(s) done; the upstream is still making {working}",
                              "已完成 {done}/{total} 张；上游仍在生成 {working} 张"),
    "mcp_job_running": (
        "Still running ({elapsed:g} s so far): call fetch_image with this job_id again (wait_seconds up to "
        "{limit}) or job_status; nothing is paid twice.",
        "仍在生成（已 {elapsed:g} 秒）：请稍后用此 job_id 再次调用 fetch_image（wait_seconds 最多 {limit}）"
        "或 job_status；不会重复付费。",
    ),
    "mcp_job_recorded": (
        "This job's process stopped before its images were saved; {count} paid task(s) are recorded: "
        "fetch_image collects them (without paying again).",
        "此任务的进程在图片保存前已停止；已记录 {count} 个已付费任务：fetch_image 会取回它们（不会重复付费）。",
    ),
    "mcp_unknown_job": (
        "No job {job_id} here: it may have finished before the server restarted (its images are then in its "
        "output folder; `glm-image history` lists them).",
        "这里没有任务 {job_id}：它可能在服务器重启前已完成（图片在其输出文件夹中；`glm-image history` 可列出）。",
    ),
    "mcp_job_busy": ("Another call is fetching job {job_id} right now; ask again when it has answered.",
                     "另一个调用正在取回任务 {job_id}；请在它返回后再试。"),
    "mcp_job_stopped": ("Job {job_id} stopped: {detail}", "任务 {job_id} 已停止：{detail}"),
    # --- polish, round two (issue 26): info on edited images, names, words, prompt-file encodings ---------------
    "info_source_line": ("{path} (SHA-256 {digest}…, {state})", "{path}（SHA-256 {digest}…，{state}）"),
    "info_source_unchanged": ("unchanged", "未改变"),
    "info_source_changed": ("changed since", "此后已被修改"),
    "info_source_missing": ("no longer there", "已不在原处"),
    "info_source_no_digest": ("{path} (not read when the image was made)", "{path}（生成时未能读取）"),
    "history_no_match": (
        "Nothing in the history ({total} entries) matches {filters}.",
        "历史记录（共 {total} 条）中没有符合 {filters} 的记录。",
    ),
    "history_without": ("without {flag}: {count} match", "去掉 {flag}：{count} 条符合"),
    "history_widen": ("To widen the search, leave out a filter ({options}).",
                      "要扩大搜索范围，可去掉一个条件（{options}）。"),
    "history_widen_none": (
        "No single filter left out finds anything either; run `glm-image history` for the latest entries.",
        "去掉任何一个条件也找不到；运行 `glm-image history` 查看最近的记录。",
    ),
    "summary_limit_probing": (
        "{account}, the account's limit, then {limit} to see whether it was raised ({refused} refused, not billed)",
        "{account}（账号上限），随后尝试 {limit} 以确认上限是否已提高（被拒 {refused} 次，未计费）",
    ),
    "batch_empty_prompt": ("'prompt' is empty: describe the picture there",
                           "prompt 为空：请在其中描述画面"),
    "ping_next": ("→ {check}: {advice}", "→ {check}：{advice}"),
    "ping_next_api_key": (
        "store one with `glm-image config set api-key` (or set GLM_API_KEY), then run `glm-image ping` again",
        "用 `glm-image config set api-key` 保存密钥（或设置 GLM_API_KEY），然后再运行 `glm-image ping`",
    ),
    "ping_next_dns": (
        "{host} cannot be found: check the network connection, and the base-url and region settings "
        "(`glm-image config show` says where they come from)",
        "找不到 {host}：请检查网络连接，以及设置项 base-url 和 region（`glm-image config show` 显示它们的来源）",
    ),
    "ping_next_reach": (
        "{host} did not answer: check the network, a proxy (HTTPS_PROXY) or a firewall, then run "
        "`glm-image ping` again",
        "{host} 没有回应：请检查网络、代理（HTTPS_PROXY）或防火墙，然后再运行 `glm-image ping`",
    ),
    "ping_next_key": (
        "copy the key again from the console and store it with `glm-image config set api-key`; region is {region} "
        "(cn: a BigModel key, intl: a Z.ai key; `glm-image config set region …` to change it)",
        "从控制台重新复制密钥，用 `glm-image config set api-key` 保存；当前 region 为 {region}"
        "（cn 对应 BigModel 的密钥，intl 对应 Z.ai 的密钥；用 `glm-image config set region …` 修改）",
    ),
    "ping_next_key_env": (
        "the key comes from the environment variable {name}, which wins over the config file: set the right key "
        "there, or unset it and use `glm-image config set api-key`",
        "密钥来自环境变量 {name}，它优先于配置文件：请在其中设置正确的密钥，"
        "或取消它并改用 `glm-image config set api-key`",
    ),
    "ping_next_key_openai": (
        "store the key this server expects with `glm-image config set api-key` (with `--profile NAME` for a "
        "profile's server)",
        "用 `glm-image config set api-key` 保存该服务器要求的密钥（配置档的服务器请加 `--profile NAME`）",
    ),
    "ping_next_server": (
        "nothing answered at {url}: start it with `glm-image serve`, or give the address it runs at: "
        "`glm-image ping --server http://HOST:PORT`",
        "{url} 没有应答：用 `glm-image serve` 启动，或给出它运行的地址：`glm-image ping --server http://HOST:PORT`",
    ),
    "ping_next_again": ("fix it, then run `glm-image ping` again", "修正后再运行 `glm-image ping`"),
    "encoding_unknown": (
        "--encoding {encoding} is not an encoding Python knows; try one of: {names}.",
        "--encoding {encoding} 不是可识别的编码；可用例如：{names}。",
    ),
    "encoding_needs_stdin": (
        "--encoding is for a prompt read from standard input (`-`); a prompt on the command line is already text.",
        "--encoding 用于从标准输入（`-`）读取的提示词；命令行上给出的提示词已经是文本。",
    ),
    "batch_looks_gb18030": (
        "The prompt file {path} is not UTF-8 (from byte {offset}), but it reads as GB18030, the encoding Chinese "
        "Windows uses (older Notepad saves it), beginning \"{opening}\". If that is right, run again with "
        "--encoding gb18030, or save the file as UTF-8.",
        "提示词文件 {path} 不是 UTF-8（从第 {offset} 字节起），但可以按 GB18030（中文 Windows 使用的编码，旧版记事本"
        "以此保存）读取，开头为“{opening}”。如果没错，请加 --encoding gb18030 重新运行，或将文件另存为 UTF-8。",
    ),
    "batch_not_utf8": (
        "The prompt file {path} is not UTF-8 (from byte {offset}). Save it as UTF-8, or name its encoding with "
        "--encoding ({names}, …).",
        "提示词文件 {path} 不是 UTF-8（从第 {offset} 字节起）。请将其另存为 UTF-8，或用 --encoding 指明其编码"
        "（{names} 等）。",
    ),
    "batch_not_in_encoding": (
        "The prompt file {path} is not {encoding} text (from byte {offset}). Check --encoding; without it, UTF-8 is "
        "read, and UTF-16 when the file starts with its BOM.",
        "提示词文件 {path} 不是 {encoding} 文本（从第 {offset} 字节起）。请检查 --encoding；不加时按 UTF-8 读取，"
        "文件以 UTF-16 的 BOM 开头时按 UTF-16 读取。",
    ),
    "stdin_looks_gb18030": (
        "Standard input is not UTF-8 (from byte {offset}), but it reads as GB18030, the encoding Chinese Windows "
        "uses, beginning \"{opening}\". If that is right, add --encoding gb18030.",
        "标准输入不是 UTF-8（从第 {offset} 字节起），但可以按 GB18030（中文 Windows 使用的编码）读取，开头为"
        "“{opening}”。如果没错，请加 --encoding gb18030。",
    ),
    "stdin_not_utf8": (
        "Standard input is not UTF-8 (from byte {offset}). Send UTF-8 text, or name its encoding with --encoding "
        "({names}, …).",
        "标准输入不是 UTF-8（从第 {offset} 字节起）。请输入 UTF-8 文本，或用 --encoding 指明其编码（{names} 等）。",
    ),
    "stdin_not_in_encoding": (
        "Standard input is not {encoding} text (from byte {offset}). Check --encoding.",
        "标准输入不是 {encoding} 文本（从第 {offset} 字节起）。请检查 --encoding。",
    ),
    # --- config: checked settings, config get/edit, the key in the system keyring (issue 26) -------------
    "model_default_note": (
        "The first size of each model is its default; any other size that follows the model's rule works too.",
        "每个模型的第一个尺寸是默认尺寸；符合该模型规则的其他尺寸也可以使用。",
    ),
    "config_unknown_key_typo": (
        "Unknown setting '{key}' (did you mean {suggestion}?). Valid settings: {keys}.",
        "未知设置项“{key}”（你是不是想用 {suggestion}？）。可用的设置项：{keys}。",
    ),
    "config_profile_bad_value": (
        "The config file {path} has an invalid {key} in [profiles.{profile}]: {reason}. Fix it with "
        "`glm-image config set --profile {profile} {key} …` or `glm-image config unset --profile {profile} {key}`.",
        "配置文件 {path} 的 [profiles.{profile}] 中的 {key} 无效：{reason}。请用 "
        "`glm-image config set --profile {profile} {key} …` 修正，或用 "
        "`glm-image config unset --profile {profile} {key}` 删除。",
    ),
    "config_set_conflict": (
        "The {key} in {path} does not fit these settings: {reason}. Change it with `{fix}`.",
        "{path} 中的 {key} 与这些设置不符：{reason}。请用 `{fix}` 修改。",
    ),
    "config_open_host": (
        "server-host {host} accepts connections from other machines: `glm-image serve` then refuses to start "
        "without a token (glm-image config set server-token …, or serve --token …).",
        "server-host {host} 会接受其他机器的连接：没有令牌时 `glm-image serve` 将拒绝启动"
        "（glm-image config set server-token …，或 serve --token …）。",
    ),
    "edit_unsupported_profile": (
        "The hosted BigModel API has no image editing endpoint; your profile '{profile}' uses the openai "
        "backend: glm-image --profile {profile} edit …",
        "托管的 BigModel API 没有图片编辑接口；你的配置档“{profile}”使用 openai 后端："
        "glm-image --profile {profile} edit …",
    ),
    "config_get_secret": (
        "{key} is a secret: shown masked (where it lives: glm-image config show).",
        "{key} 是密钥：只显示遮盖后的值（保存位置见 glm-image config show）。",
    ),
    "config_edit_no_editor": (
        "No editor found: set VISUAL or EDITOR (for example: export EDITOR=nano).",
        "找不到编辑器：请设置 VISUAL 或 EDITOR（例如：export EDITOR=nano）。",
    ),
    "config_edit_not_run": (
        "Could not run the editor '{editor}' ({detail}); {path} is unchanged.",
        "无法运行编辑器“{editor}”（{detail}）；{path} 未改动。",
    ),
    "config_edit_editor_failed": (
        "The editor '{editor}' exited with status {status}; {path} is unchanged.",
        "编辑器“{editor}”以状态 {status} 退出；{path} 未改动。",
    ),
    "config_edit_unchanged": ("No changes: {path} is as it was.", "没有改动：{path} 保持原样。"),
    "config_edit_saved": ("Saved {path}", "已保存 {path}"),
    "config_edit_invalid": (
        "Not saved: {reason}. {path} is unchanged; your edit is kept in {draft}.",
        "未保存：{reason}。{path} 未改动；你的修改保存在 {draft}。",
    ),
    "config_edit_changed_meanwhile": (
        "Not saved: {path} was changed by something else while you were editing; your edit is kept in {draft}.",
        "未保存：编辑期间 {path} 被其他程序修改；你的修改保存在 {draft}。",
    ),
    "config_edit_again": ("Edit again?", "重新编辑？"),
    "reason_unknown_setting": ("unknown setting '{key}'", "未知设置项“{key}”"),
    "reason_unknown_setting_typo": ("unknown setting '{key}' (did you mean {suggestion}?)",
                                    "未知设置项“{key}”（你是不是想用 {suggestion}？）"),
    "reason_in_profile": ("in [profiles.{profile}]: {reason}", "[profiles.{profile}] 中：{reason}"),
    "reason_setting": ("{key}: {reason}", "{key}：{reason}"),
    "reason_toml": ("not valid TOML: {detail}", "不是有效的 TOML：{detail}"),
    "config_edit_resume": (
        "Continuing your unsaved edit from {draft} (delete it to start again from {path}).",
        "继续编辑上次未保存的修改 {draft}（删除该文件即可从 {path} 重新开始）。",
    ),
    "config_edit_header": (
        "# glm-image settings (TOML). Every setting and its current value: glm-image config show\n"
        "# For example:\n# model = \"cogview-4-250304\"\n# size = \"1024x1024\"\n# style = \"水彩\"\n",
        "# glm-image 设置（TOML 格式）。全部设置项及当前值：glm-image config show\n"
        "# 例如：\n# model = \"cogview-4-250304\"\n# size = \"1024x1024\"\n# style = \"水彩\"\n",
    ),
    "keyring_missing": (
        "The keyring package is not installed: pip install 'glm-image[keyring]' (or keep the key in the config "
        "file: glm-image config set api-key).",
        "未安装 keyring 包：pip install 'glm-image[keyring]'"
        "（或把密钥保存在配置文件中：glm-image config set api-key）。",
    ),
    "keyring_unavailable": (
        "The system keyring cannot be used ({detail}): this system has no keyring service running (Secret "
        "Service/GNOME Keyring or KWallet on Linux; macOS and Windows have one), or keep the key in the config "
        "file: glm-image config set api-key.",
        "无法使用系统密钥环（{detail}）：本系统没有运行密钥环服务（Linux 上为 Secret Service/GNOME Keyring 或 "
        "KWallet；macOS 和 Windows 自带），或把密钥保存在配置文件中：glm-image config set api-key。",
    ),
    "keyring_entry_missing": (
        "{path} says {key} is in the system keyring, but the keyring has no entry '{account}' for service "
        "'{service}': store it again with glm-image config set {key} --keyring.",
        "{path} 表示 {key} 保存在系统密钥环中，但密钥环里没有服务“{service}”的条目“{account}”："
        "请用 glm-image config set {key} --keyring 重新保存。",
    ),
    "keyring_only_secrets": (
        "--keyring keeps the API key (api-key) in the system keyring; {key} stays in the config file.",
        "--keyring 用于把 API 密钥（api-key）保存到系统密钥环；{key} 仍保存在配置文件中。",
    ),
    "config_saved_keyring": (
        "Saved {key} in the system keyring ({service} / {account}); {path} keeps only a marker",
        "已将 {key} 保存到系统密钥环（{service} / {account}）；{path} 中只留一个标记",
    ),
    "config_removed_keyring": (
        "Removed {key} from {path} and from the system keyring",
        "已从 {path} 和系统密钥环中删除 {key}",
    ),
    "source_keyring": ("system keyring ({service} / {account})", "系统密钥环（{service} / {account}）"),
    # generate --dry-run, --open and -o - (issue 26: 11, 12, 13)
    "dry_run_images": ("{count} image(s) of {model}, size {size}, quality {quality}, style {style}",
                       "{count} 张 {model} 图片，尺寸 {size}，质量 {quality}，风格 {style}"),
    "dry_run_none": ("(none)", "无"),
    "dry_run_default": ("(the model's default)", "模型默认"),
    "dry_run_prompt": ("Prompt sent: {prompt}", "发送的提示词：{prompt}"),
    "dry_run_enhance": ("Rewritten first by {model}: {calls} chat call(s).",
                        "先由 {model} 改写：{calls} 次对话调用。"),
    "dry_run_enhance_cached": ("Rewritten first by {model}: the rewrite is cached (no chat call).",
                               "先由 {model} 改写：改写结果已缓存（不调用对话模型）。"),
    "dry_run_folder": ("Saved in: {folder}", "保存到：{folder}"),
    "dry_run_stdout": ("Written to stdout; a copy is kept in: {folder}", "写到标准输出；副本保存在：{folder}"),
    "dry_run_consent": ("Above confirm-above ({threshold:.2f} {currency}): the run would ask first (or need --yes).",
                        "超过 confirm-above（{threshold:.2f} {currency}）：实际运行时会先询问（或需要 --yes）。"),
    "stdout_is_terminal": (
        "-o - writes the image's bytes to stdout, which is a terminal: redirect it (-o - > cat.png) or pipe it "
        "(-o - | convert - …).",
        "-o - 会把图片的字节写到标准输出，而标准输出是终端：请重定向（-o - > cat.png）或接管道（-o - | convert - …）。",
    ),
    "stdout_one_image": ("-o - writes one image to stdout, not {samples}: leave out -n (or the prompt's {{a|b}} "
                         "alternatives), or save them with -o DIR.",
                         "-o - 只向标准输出写一张图片，而不是 {samples} 张：去掉 -n（或提示词中的 {{a|b}} 备选），"
                         "或用 -o 目录 保存。"),
    "stdout_folder_only": ("-o - (standard output) is for one image of generate, again or edit; {command} writes a "
                           "folder: give it one with -o DIR.",
                           "-o -（标准输出）只用于 generate、again 或 edit 的一张图片；{command} 会写一个文件夹："
                           "请用 -o 目录 指定。"),
    "stdout_not_json": ("-o - and --json both write to stdout: use one of them.",
                        "-o - 与 --json 都写标准输出：只能用其中一个。"),
    "stdout_kept": ("Wrote {bytes} bytes to stdout; the image is kept at {path}.",
                    "已向标准输出写入 {bytes} 字节；图片保存在 {path}。"),
    "open_no_viewer": ("--open: no image viewer here (xdg-open with a desktop, open, or Windows).",
                       "--open：此处没有看图程序（需要带桌面的 xdg-open、open 或 Windows）。"),
    # --review's inline edit and chat's preview (issue 26: 8)
    "review_edit_line": ("Prompt to send: ", "要发送的提示词："),
    "review_edit_keep": ("Prompt to send (Enter keeps the text above): ", "要发送的提示词（回车保留上面的原文）："),
    # --- prompt templates and alternatives/wildcards (issue 26 item 15, issue 29 item 2) ----------
    "expand_bad_mode": ("--expand takes all or random:N (N at least 1), not '{value}'.",
                        "--expand 只接受 all 或 random:N（N 至少为 1），而不是“{value}”。"),
    "expand_nested": (
        "A group of alternatives inside another at column {column}: put {{a|b}} groups side by side, "
        "or write \\{{ for a literal brace.",
        "第 {column} 列：备选组嵌套在另一个备选组里。请把 {{a|b}} 组并列书写，字面的大括号写成 \\{{。",
    ),
    "expand_unclosed": ("The group of alternatives opened at column {column} is never closed with }}.",
                        "第 {column} 列开始的备选组没有用 }} 结束。"),
    "expand_too_many": (
        "The prompt expands to {count} images, more than --max-images {limit}; nothing was sent. "
        "Raise --max-images, or draw fewer with --expand random:N.",
        "提示词展开后共 {count} 张图片，超过 --max-images {limit}；未发送任何请求。"
        "请调高 --max-images，或用 --expand random:N 抽取较少的组合。",
    ),
    "expand_seed_without_random": ("--seed only matters with --expand random:N.",
                                   "--seed 只在 --expand random:N 时有意义。"),
    "wildcard_missing": (
        "No wildcard file for __{name}__ (column {column}); looked for: {paths}.",
        "找不到 __{name}__（第 {column} 列）的通配符文件；查找过：{paths}。",
    ),
    "wildcard_unreadable": ("Cannot read the wildcard file {path}: {detail}.", "无法读取通配符文件 {path}：{detail}。"),
    "wildcard_empty": ("The wildcard file {path} has no lines to draw from.", "通配符文件 {path} 中没有可抽取的行。"),
    "expand_listing": ("{count} prompts:", "共 {count} 个提示词："),
    "expand_listing_row": ("  {number}. {prompt}", "  {number}. {prompt}"),
    "expand_seed_note": ("Drew {count} prompts with seed {seed}; --seed {seed} draws the same ones again.",
                         "用随机种子 {seed} 抽取了 {count} 个提示词；加 --seed {seed} 可再次抽到相同的提示词。"),
    "template_not_found": ("No template named '{name}'{hint}. glm-image template list shows them.",
                           "没有名为“{name}”的模板{hint}。glm-image template list 可列出全部模板。"),
    "template_did_you_mean": (" (did you mean {name}?)", "（是否想用 {name}？）"),
    "template_bad_name": (
        "'{name}' cannot be a template name: use letters, digits, _ . - (at most 64, not starting with . or _).",
        "“{name}”不能作为模板名：请使用字母、数字、_ . -（最多 64 个，不以 . 或 _ 开头）。",
    ),
    "template_missing_variable": ("The template {template} needs {{{variable}}}: add {variable}=VALUE.",
                                  "模板 {template} 需要 {{{variable}}}：请加上 {variable}=值。"),
    "template_unknown_variable": ("The template {template} has no variable {variable} (it has: {variables}).",
                                  "模板 {template} 没有变量 {variable}（它有：{variables}）。"),
    "template_bad_assignment": ("'{text}' is not NAME=VALUE (a template variable and its value).",
                                "“{text}”不是 名称=值 的形式（模板变量及其值）。"),
    "template_bad_default": ("A template's defaults can only be {valid}, not '{key}'.",
                             "模板的默认值只能是 {valid}，不能是“{key}”。"),
    "template_and_prompt": ("Give either a PROMPT or -t TEMPLATE with NAME=VALUE words, not both.",
                            "请给出提示词，或 -t 模板 加 名称=值，二者不能同时使用。"),
    "template_variables_without_template": (
        "NAME=VALUE words fill a template's variables: name the template with -t TEMPLATE "
        "(or quote a prompt that holds '=').",
        "名称=值 用于填写模板变量：请用 -t 模板 指定模板（提示词中含“=”时请加引号）。",
    ),
    "template_invalid": ("The template file {path} is not usable: {detail}. Fix or delete it.",
                         "模板文件 {path} 无法使用：{detail}。请修正或删除它。"),
    "template_shape": ("expected an object with a \"prompt\" text", "应为含 \"prompt\" 文本的对象"),
    "template_unwritable": ("Cannot write the template file {path}: {detail}.", "无法写入模板文件 {path}：{detail}。"),
    "template_saved": ("Saved template {name}: {path}", "已保存模板 {name}：{path}"),
    "template_replaced": ("Replaced template {name}: {path}", "已替换模板 {name}：{path}"),
    "template_deleted": ("Deleted template {name}.", "已删除模板 {name}。"),
    "template_none": ("No templates yet. Save one: glm-image template save NAME \"海报，{{subject}}\"",
                      "还没有模板。保存一个：glm-image template save 名称 \"海报，{{subject}}\""),
    "template_edit_invalid": ("The edited template is not valid ({detail}); the old one is kept.",
                              "编辑后的模板无效（{detail}）；已保留原模板。"),
    "template_no_editor": ("No editor found: set $EDITOR (or $VISUAL).",
                           "找不到编辑器：请设置 $EDITOR（或 $VISUAL）。"),
    "template_unchanged": ("Template {name} unchanged.", "模板 {name} 未改动。"),
    "col_template": ("Template", "模板"),
    "col_variables": ("Variables", "变量"),
    "col_defaults": ("Defaults", "默认值"),
    "api_field_variables": ("'variables' must be an object of texts.", "variables 必须是值为文本的对象。"),
    # batch --via batch-api: the platform's Batch API (core/batchapi.py, cli/commands/batchapi_cmd.py)
    "batchapi_intro": (
        "Batch API: {images} image(s) at the batch price (half the image price); the platform may take hours (up "
        "to 24 h). Ctrl-C leaves the batch running: run the same command again to collect it.",
        "Batch API：{images} 张图片按批量价（图片单价的一半）计费；平台可能需要数小时（最长 24 小时）。"
        "按 Ctrl-C 离开后批任务继续运行：再次运行同一命令即可取回结果。",
    ),
    "batchapi_uploading": ("Uploading the input of {count} image(s) ({model})…",
                           "正在上传 {count} 张图片的输入（{model}）…"),
    "batchapi_submitted": ("Batch {batch_id} created: {count} image(s) of {model}.",
                           "已创建批任务 {batch_id}：{count} 张 {model} 图片。"),
    "batchapi_attached": ("Re-attached to batch {batch_id} ({count} image(s) of {model}).",
                          "已重新连接批任务 {batch_id}（{count} 张 {model} 图片）。"),
    "batchapi_status": (
        "Batch {batch_id}: {status}, {completed}/{total} done, {failed} failed, {elapsed} since created",
        "批任务 {batch_id}：{status}，已完成 {completed}/{total}，失败 {failed}，创建后已过 {elapsed}",
    ),
    "batchapi_left": (
        "Left {count} image(s) running on the platform (it may take hours). Collect them later with: {command}  "
        "(check: glm-image batch status {folder}; cancel: glm-image batch cancel {folder})",
        "已离开，{count} 张图片仍在平台上生成（可能需要数小时）。稍后用此命令取回：{command}"
        "（查看：glm-image batch status {folder}；取消：glm-image batch cancel {folder}）",
    ),
    "batchapi_foreign": (
        "{count} image(s) of this folder's batches are not in this input: run the input they came from to save them.",
        "此文件夹的批任务中有 {count} 张图片不在本次输入中：请用原来的输入文件运行以保存它们。",
    ),
    "batchapi_refused": (
        "The platform refused a Batch API batch of images ({detail}); nothing was charged. Run the batch without "
        "--via batch-api (direct calls).",
        "平台拒绝了图片的 Batch API 批任务（{detail}）；未产生费用。请去掉 --via batch-api，用直接调用方式运行。",
    ),
    "batchapi_create_lost": (
        "The answer to creating the batch was lost ({detail}); it may have been created. Nothing is created again: "
        "run the same command to find it.",
        "创建批任务的应答丢失（{detail}），批任务可能已创建。不会重复创建：再次运行同一命令即可找到它。",
    ),
    "batchapi_unresolved": (
        "Cannot tell whether an earlier run created its batch (listing the batches failed: {detail}); nothing was "
        "created. Run the same command again later.",
        "无法确认之前的运行是否已创建批任务（列出批任务失败：{detail}）；本次未创建任何批任务。请稍后再运行同一命令。",
    ),
    "batchapi_backend": (
        "--via batch-api needs the bigmodel backend (the platform's Batch API); this backend makes images directly.",
        "--via batch-api 需要 bigmodel 后端（平台的 Batch API）；当前后端只能直接生成。",
    ),
    "batchapi_active": (
        "{count} image(s) of this folder are in a Batch API batch that is not collected yet: collect it with "
        "--via batch-api, or cancel it (glm-image batch cancel {folder}).",
        "此文件夹有 {count} 张图片在尚未取回的 Batch API 批任务中：请加 --via batch-api 取回，"
        "或取消它（glm-image batch cancel {folder}）。",
    ),
    "batchapi_expired": ("the batch {batch_id} expired before this image was made ({detail}); not charged",
                         "批任务 {batch_id} 在此图片生成前已过期（{detail}）；未计费"),
    "batchapi_cancelled": ("the batch {batch_id} was cancelled before this image was made; not charged",
                           "批任务 {batch_id} 在此图片生成前已取消；未计费"),
    "batchapi_failed": ("the batch {batch_id} failed ({detail}); this image was not made, not charged",
                        "批任务 {batch_id} 失败（{detail}）；此图片未生成，未计费"),
    "batchapi_no_result": (
        "the batch {batch_id} completed without a result for this image: it may have been made and billed, so it "
        "is not requested again (--retry-unsafe does)",
        "批任务 {batch_id} 已完成，但没有此图片的结果：可能已生成并计费，因此不再请求（--retry-unsafe 可强制请求）",
    ),
    "batchapi_status_none": ("No Batch API batches in {folder}.", "{folder} 中没有 Batch API 批任务。"),
    "batchapi_status_title": ("Batch API batches in {folder}", "{folder} 中的 Batch API 批任务"),
    "batchapi_status_collect": ("To save what is done, run: {command}", "如要保存已完成的图片，请运行：{command}"),
    "batchapi_step_planned": ("planned, not uploaded", "已计划，未上传"),
    "batchapi_step_uploaded": ("uploaded, not created", "已上传，未创建"),
    "batchapi_step_creating": ("created? (the next run finds out)", "是否已创建？（下次运行时确认）"),
    "batchapi_step_closed": ("saved", "已保存"),
    "batchapi_step_refused": ("refused (not charged)", "被拒绝（未计费）"),
    "batchapi_step_dropped": ("dropped (never created)", "已放弃（从未创建）"),
    "batchapi_cancelling": ("Batch {batch_id}: {status}.", "批任务 {batch_id}：{status}。"),
    "batchapi_cancel_unsent": ("A part of {count} image(s) was not created yet: it will not be.",
                               "有一部分（{count} 张图片）尚未创建：将不再创建。"),
    "batchapi_cancel_done": (
        "What the platform finished before the cancel is still saved by: {command}",
        "取消前平台已完成的图片，仍可用此命令保存：{command}",
    ),
    "batchapi_status_heading": ("batch", "批任务"),
    "batchapi_column_model": ("model", "模型"),
    "batchapi_column_images": ("images", "图片"),
    "batchapi_column_status": ("status", "状态"),
    "batchapi_column_done": ("done / failed", "完成 / 失败"),
    "batchapi_column_elapsed": ("elapsed", "已用时间"),
    "batchapi_cost": (
        "Estimated cost: {cost:.2f} {currency} at the Batch API price (half the reference price table){unknown}. "
        "The platform may take hours (up to 24 h): you can leave and run the same command again to collect.",
        "预计费用：{cost:.2f} {currency}（按 Batch API 批量价，即参考价格表的一半）{unknown}。"
        "平台可能需要数小时（最长 24 小时）：可以先离开，之后再运行同一命令取回。",
    ),
    "batchapi_no_folder": ("No batch folder {folder}.", "没有批量输出文件夹 {folder}。"),
    "batchapi_extra_folder": (
        "Unexpected second argument {folder}: only `batch status FOLDER` and `batch cancel FOLDER` take one.",
        "多余的第二个参数 {folder}：只有 `batch status FOLDER` 和 `batch cancel FOLDER` 需要它。",
    ),
    # --- compare: one prompt along X/Y/Z axes, a labelled grid and compare.json ---
    "compare_axis_empty": ("{flag} has no values; give them comma-separated, e.g. {flag} a,b.",
                           "{flag} 没有取值；请用逗号分隔给出，例如 {flag} a,b。"),
    "compare_axis_enhance": ("{flag} takes on and off (got {value!r}); e.g. {flag} on,off.",
                             "{flag} 的取值为 on 和 off（收到 {value!r}）；例如 {flag} on,off。"),
    "compare_axis_duplicate": ("{flag} lists {value!r} twice; give each value once.",
                               "{flag} 中 {value!r} 出现了两次；每个取值只写一次。"),
    "compare_axis_long": ("{flag} has {count} values; at most {limit} fit in a grid.",
                          "{flag} 有 {count} 个取值；一张网格最多 {limit} 个。"),
    "compare_prompt_sr_short": ("{flag} needs the term to replace and at least one replacement: {flag} \"red,blue\".",
                                "{flag} 需要要替换的词和至少一个替换词：{flag} \"red,blue\"。"),
    "compare_prompt_sr_missing": ("The prompt does not contain {term!r}, the first term of --prompt-sr; put it in the "
                                  "prompt or change the term.",
                                  "提示词中没有 --prompt-sr 的第一个词 {term!r}；请把它写进提示词，或换一个词。"),
    "compare_no_axes": ("Nothing to compare: give at least one axis with several values, e.g. --model a,b or "
                        "--style 水彩,油画.",
                        "没有可比较的内容：请至少给出一个有多个取值的维度，例如 --model a,b 或 --style 水彩,油画。"),
    "compare_too_many_axes": ("{count} axes given; a compare has at most three (X, Y and Z).",
                              "给出了 {count} 个维度；最多三个（X、Y、Z）。"),
    "compare_axis_unknown": ("{name!r} cannot be compared; the axes are: {names}.",
                             "{name!r} 不能作为比较维度；可用的维度：{names}。"),
    "compare_empty_prompt": ("The prompt is empty; give the text every cell shares.",
                             "提示词为空；请给出所有格子共用的文字。"),
    "compare_too_many": ("This compare makes {count} images ({cells} cells × {samples}), more than --max-images "
                         "{limit}; nothing was sent. Use fewer values, or raise --max-images.",
                         "本次比较会生成 {count} 张图片（{cells} 个格子 × {samples}），超过 --max-images {limit}；"
                         "未发送任何请求。请减少取值，或调高 --max-images。"),
    "compare_cell_invalid": ("cell {number} ({cell}): {message}", "格子 {number}（{cell}）：{message}"),
    "compare_invalid": ("{count} invalid cell(s); nothing was sent. Change those values, or pass --skip-invalid "
                        "to make the valid ones.",
                        "{count} 个格子无效；未发送任何请求。请修改这些取值，或加 --skip-invalid 只生成有效的格子。"),
    "compare_invalid_cell": ("{count} invalid cell(s); nothing was sent. First: cell {number} ({cell}): {message}",
                             "{count} 个格子无效；未发送任何请求。第一个：格子 {number}（{cell}）：{message}"),
    "api_compare_needs_save": ("POST /compare writes a folder of images, a grid and compare.json: start serve with "
                               "--save DIR.",
                               "POST /compare 会写入一个包含图片、网格和 compare.json 的文件夹："
                               "请用 --save DIR 启动 serve。"),
    "api_compare_axes": ('"axes" must be an object of lists, e.g. {"model": ["cogview-4", "cogview-3-flash"], '
                         '"style": ["水彩", "油画"]}.',
                         '"axes" 应为由列表组成的对象，例如 {"model": ["cogview-4", "cogview-3-flash"], '
                         '"style": ["水彩", "油画"]}。'),
    "batchapi_bad_id": ("The Batch API journal names an id that cannot be the platform's ({value!r}); nothing was "
                        "sent for it. Check batch-api.jsonl in the output folder (was it edited?).",
                        "Batch API 日志中的 id 不可能来自平台（{value!r}）；未为它发送任何请求。"
                        "请检查输出文件夹中的 batch-api.jsonl（是否被改动过？）。"),
    "batchapi_no_check": ("--check, --best-of and --caption look at each image as it is saved; a Batch API batch makes "
                          "them hours later. Run it with --via direct, or check the folder afterwards: "
                          "glm-image check DIR.",
                          "--check、--best-of 和 --caption 要在每张图片保存时查看；Batch API 的批任务要数小时后才出图。"
                          "请用 --via direct 运行，或事后检查整个文件夹：glm-image check DIR。"),
    "compare_skipping_invalid": ("Skipping {count} invalid cell(s); they are left empty in the grid.",
                                 "跳过 {count} 个无效格子；它们在网格中留空。"),
    "compare_plan": ("Compare: {cells} cell(s) ({shape}), {images} image(s), estimated {cost:.2f} {currency}; "
                     "folder {folder}",
                     "比较：{cells} 个格子（{shape}），{images} 张图片，预计 {cost:.2f} {currency}；目录 {folder}"),
    "compare_plan_cell": ("  {number:>3}  {cell}", "  {number:>3}  {cell}"),
    "compare_grid": ("Grid: {path}", "网格：{path}"),
    "compare_json": ("Cells and recipes: {path}", "格子与配方：{path}"),
    "compare_grid_needs_pillow": ("No grid image: drawing it needs Pillow. Install it with: pip install "
                                  "'glm-image[preview]'",
                                  "未生成网格图：绘制需要 Pillow。安装：pip install 'glm-image[preview]'"),
    "compare_grid_legend": ("No font with Chinese characters was found for the grid's labels, so they are "
                            "numbered: {legend}. Pass --font FILE to label them.",
                            "未找到可显示中文的字体，网格标签改用编号：{legend}。可用 --font 指定字体文件。"),
    # --- vision checks, best-of and captions (issue 28: core/vision.py, checks.py, bestof.py) ---------------
    "check_reason_no_image": ("no image to show the model", "没有可交给模型的图片"),
    "check_reason_unreadable": ("cannot read {path}: {detail}", "无法读取 {path}：{detail}"),
    "check_reason_not_image": ("the file is not a PNG, JPEG or WebP image", "文件不是 PNG、JPEG 或 WebP 图片"),
    "check_reason_needs_preview": (
        "the image is over 5 MB or 6000 px and must be scaled down first, which needs Pillow: "
        "pip install 'glm-image[preview]'",
        "图片超过 5 MB 或 6000 像素，须先缩小，这需要 Pillow：pip install 'glm-image[preview]'"),
    "check_reason_format_needs_preview": (
        "the vision model takes PNG and JPEG only; converting {format} needs Pillow: pip install 'glm-image[preview]'",
        "视觉模型只接受 PNG 和 JPEG；转换 {format} 需要 Pillow：pip install 'glm-image[preview]'"),
    "check_reason_unparseable": ("the model's answer was not the JSON asked for: {answer}",
                                 "模型的回答不是所要求的 JSON：{answer}"),
    "check_reason_no_score": ("the model's answer had no score from 0 to 10", "模型的回答没有 0 到 10 的分数"),
    "check_reason_no_caption": ("the model's answer had no caption", "模型的回答没有描述"),
    "check_reason_interrupted": ("interrupted before the verdict came in", "结果返回前已中断"),
    "check_reason_failed": ("the check failed: {detail}", "检查失败：{detail}"),
    "check_reason_no_prompt": ("no prompt to judge it against: the image has no glm-image recipe; pass --prompt",
                               "没有可对照的提示词：图片不含 glm-image 配方；请用 --prompt 指定"),
    "check_line": ("check {name}: {score}/10{text}{failing}", "检查 {name}：{score}/10{text}{failing}"),
    "check_text_ok": (" · text ✓ “{read}” (NED {ned}, word accuracy {accuracy})",
                      " · 文字 ✓ “{read}”（NED {ned}，词准确率 {accuracy}）"),
    "check_text_mismatch": (" · text ✗ read “{read}” (NED {ned}, word accuracy {accuracy})",
                            " · 文字 ✗ 识别为“{read}”（NED {ned}，词准确率 {accuracy}）"),
    "check_failing": (" · not met: {items}", " · 未满足：{items}"),
    "check_text_none": (" · text ✗ none read", " · 文字 ✗ 未识别出文字"),
    "check_unchecked_line": ("check {name}: unchecked ({reason}); the image is kept",
                             "检查 {name}：未检查（{reason}）；图片已保留"),
    "caption_line": ("caption {name}: {caption}", "描述 {name}：{caption}"),
    "check_short": ("{score}/10{text}{failing} ({model})", "{score}/10{text}{failing}（{model}）"),
    "check_unchecked_short": ("unchecked: {reason}", "未检查：{reason}"),
    "check_unchecked_cell": ("unchecked", "未检查"),
    "col_verdict": ("Check", "检查"),
    "check_not_recorded": ("A verdict could not be written into its image or the history ({detail}); it is "
                           "shown here and in --json.",
                           "检查结果无法写入图片或历史记录（{detail}）；结果见此处和 --json。"),
    "best_of_kept": ("best of {total}: kept {name}; the rest ({count}) moved to {folder}",
                     "{total} 选 1：保留 {name}；其余 {count} 张移到 {folder}"),
    "best_of_kept_discarded": ("best of {total}: kept {name}; the rest ({count}) deleted",
                               "{total} 选 1：保留 {name}；其余 {count} 张已删除"),
    "best_of_range": ("--best-of must be from {low} to {high} (got {value}).",
                      "--best-of 须在 {low} 到 {high} 之间（收到 {value}）。"),
    "check_no_file": ("{target} is no image file, folder or history id.",
                      "{target} 不是图片文件、文件夹或历史编号。"),
    "check_nothing": ("No images found in {targets}.", "在 {targets} 中没有找到图片。"),
    "caption_bad_lang": ("--lang for a caption is zh or en (got {value}).",
                         "描述的 --lang 须为 zh 或 en（收到 {value}）。"),
}


def current_language() -> str:
    """The language of this context ('en' unless a ``using_language`` block or the CLI chose another)."""
    return LANGUAGE.get()


@contextmanager
def using_language(lang: str) -> Iterator[str]:
    """Render in ``lang`` inside the block; on the way out (return or raise) the previous language is back,
    including after any ``LANGUAGE.set`` made inside, because the reset restores what was there before."""
    token = LANGUAGE.set(lang if lang in LANGUAGES else "en")
    try:
        yield LANGUAGE.get()
    finally:
        LANGUAGE.reset(token)


class Text:
    """A catalogue message rendered when shown, so it follows the language of the context showing it."""

    def __init__(self, message_id: str, /, **params: Any) -> None:
        self.message_id = message_id
        self.params = params

    def __str__(self) -> str:
        return render(self.message_id, **self.params)

    def __repr__(self) -> str:
        return f"Text({self.message_id!r})"


def render(message_id: str, /, lang: str | None = None, **params: Any) -> str:
    """Format a catalogue message in ``lang``, else this context's language; unknown ids render as the id so
    nothing is ever lost."""
    pair = CATALOGUE.get(message_id)
    if pair is None:
        return message_id
    text = pair[1] if (lang or LANGUAGE.get()) == "zh" else pair[0]
    try:
        result = text.format(**params)
    except (KeyError, IndexError, ValueError):
        return text
    if text.startswith("{service}"):  # "the image server rejected…" starts a sentence
        result = result[:1].upper() + result[1:]
    return result


# --- help texts: shown by --help in the user's language (--lang, GLM_IMAGE_LANG, config lang, locale) ----
# Looked up through glm_image_cli.cli.language.help_text, which settles that language before Typer builds commands.
HELP: dict[str, tuple[str, str]] = {
    # shared options
    "opt.lang": ("Message language: zh or en (default: setting `lang`, else the locale).",
                 "提示语言：zh 或 en（默认取设置项 lang，否则按系统语言）。"),
    "opt.json": ("Print machine-readable JSON on stdout (schema in the README).",
                 "在标准输出打印 JSON（格式见 README）。"),
    "opt.quiet": ("Only results and errors; no progress or notes.", "只输出结果和错误，不显示进度和提示。"),
    "opt.no_color": ("No colours (also: the NO_COLOR environment variable).",
                     "不使用颜色（也可设置 NO_COLOR 环境变量）。"),
    "opt.version": ("Show the version and exit.", "显示版本号并退出。"),
    "opt.profile": ("Use the settings of profile NAME ([profiles.NAME] in the config file; also "
                    "GLM_IMAGE_PROFILE).",
                    "使用配置档 NAME 的设置（配置文件中的 [profiles.NAME]；也可设置 GLM_IMAGE_PROFILE）。"),
    "opt.config_profile": ("Read or change profile NAME ([profiles.NAME]) instead of the top-level settings.",
                           "读取或修改配置档 NAME（[profiles.NAME]），而不是顶层设置。"),
    "arg.edit_images": ("The image(s) to edit (PNG, JPEG or WebP); several are sent as reference images.",
                        "要编辑的图片（PNG、JPEG 或 WebP）；多张时作为参考图一起发送。"),
    "opt.edit_prompt": ("What to change, in words (Chinese or English).", "用文字描述要做的修改（中文或英文）。"),
    "opt.mask": ("A PNG whose transparent pixels mark where to edit.", "一张 PNG 蒙版，透明像素标出要编辑的区域。"),
    "cmd.edit": (
        "Edit images with a prompt on an OpenAI-compatible server (backend openai, e.g. SGLang serving "
        "GLM-Image); the hosted BigModel API has no editing.\n\nExamples:\n\n"
        "  glm-image --profile gpu edit cat.png -p \"give the cat a red scarf\"\n\n"
        "  glm-image edit room.png --mask window.png -p \"a night sky in the window\" -n 2 -o ./out",
        "在 OpenAI 兼容的服务上按提示词编辑图片（openai 后端，例如用 SGLang 部署的 GLM-Image）；"
        "托管的 BigModel API 不支持编辑。\n\n示例：\n\n"
        "  glm-image --profile gpu edit cat.png -p \"给猫戴上红围巾\"\n\n"
        "  glm-image edit room.png --mask window.png -p \"窗外换成夜空\" -n 2 -o ./out",
    ),
    "opt.verbose": ("Trace every HTTP exchange on stderr: method, URL, status, request id, time, retries "
                    "(the key is never shown).",
                    "在标准错误输出中记录每次 HTTP 交互：方法、网址、状态、请求 ID、耗时和重试（绝不显示密钥）。"),
    "opt.style": ("Style preset, Chinese or English name (see `glm-image styles`).",
                  "风格预设，中文名或英文名均可（见 `glm-image styles`）。"),
    "opt.negative": ("What the image should not show (folded into the prompt).",
                     "画面中不希望出现的内容（会并入提示词）。"),
    "opt.size": ("WIDTHxHEIGHT, e.g. 1024x1024 (checked against the model's rules).",
                 "宽x高，例如 1024x1024（按模型规则检查）。"),
    "opt.width": ("Width in pixels (with --height).", "宽度（像素，需同时给出 --height）。"),
    "opt.height": ("Height in pixels (with --width).", "高度（像素，需同时给出 --width）。"),
    "opt.model": ("Model: cogview-4-250304 (default), cogview-4, cogview-3-flash (free), glm-image.",
                  "模型：cogview-4-250304（默认）、cogview-4、cogview-3-flash（免费）、glm-image。"),
    "opt.quality": ("hd or standard.", "画质：hd 或 standard。"),
    "opt.samples": ("How many images (one API call each).", "生成张数（每张一次 API 调用）。"),
    "opt.samples_batch": ("Images per prompt (default 1).", "每个提示词的张数（默认 1）。"),
    "opt.output_dir": ("Folder for the images (default: setting output-dir, ./glm-images).",
                       "图片保存目录（默认取设置项 output-dir，即 ./glm-images）。"),
    "opt.concurrency": ("Calls in flight at once (default: setting concurrency, 2).",
                        "同时进行的调用数（默认取设置项 concurrency，即 2）。"),
    "opt.timeout": ("Seconds to wait for each answer (default 120).", "每次调用等待响应的秒数（默认 120）。"),
    "opt.retry_unsafe": ("Also retry calls that may already have been billed (timeouts, lost answers).",
                         "对可能已经计费的调用（超时、响应丢失）也进行重试。"),
    "opt.name": ("File name template, e.g. \"{date}/{slug}-{index}\" (tokens: date time index slug model size "
                 "style hash request_id ext).",
                 "文件名模板，例如 \"{date}/{slug}-{index}\"（占位符：date time index slug model size style hash "
                 "request_id ext）。"),
    "opt.format": ("Image format: png (default), jpeg, webp or original; jpeg/webp need glm-image[convert].",
                   "图片格式：png（默认）、jpeg、webp 或 original；jpeg/webp 需要 glm-image[convert]。"),
    "opt.no_metadata": ("Do not embed the recipe in the images.", "不在图片中嵌入生成参数。"),
    "opt.no_history": ("Do not record this run in the history.", "不把本次运行写入历史记录。"),
    "opt.no_watermark": ("Ask for images without the \"AI 生成\" watermark (needs the platform's disclaimer signed).",
                         "请求不带“AI 生成”水印的图片（需已签署平台免责声明）。"),
    "opt.user_id": ("End-user id passed to the platform (6-128 characters).",
                    "传给平台的终端用户 ID（6–128 个字符）。"),
    "opt.enhance": ("Rewrite the prompt with a GLM chat model before the image call (setting `enhance`; "
                    "the chat model is the setting `enhance-model`, free by default).",
                    "生成图片前先用 GLM 对话模型改写提示词（设置项 enhance；对话模型由设置项 enhance-model 指定，"
                    "默认免费）。"),
    "opt.enhance_again": ("Rewrite the prompt anew (--enhance) or send it as typed (--no-enhance); by default a "
                          "rewritten entry re-uses its rewrite.",
                          "重新改写提示词（--enhance）或按原文发送（--no-enhance）；默认沿用该记录的改写。"),
    "opt.review": ("Show the prompt rewrite and ask: accept, edit ($EDITOR, else inline) or cancel (implies "
                   "--enhance; needs a terminal, --yes accepts without asking).",
                   "显示改写后的提示词并询问：采用、编辑（用 $EDITOR，否则在终端内）或取消（隐含 --enhance；需要终端，"
                   "--yes 则不询问直接采用）。"),
    "opt.no_cache": ("Make a new rewrite even when one is cached.", "即使已有缓存的改写，也重新改写。"),
    "opt.yes": ("Do not ask before spending more than the setting confirm-above.",
                "花费超过设置项 confirm-above 时不再询问。"),
    # generate
    "arg.prompt": ("The prompt; - reads it from standard input.", "提示词；用 - 从标准输入读取。"),
    # batch
    "arg.batch_input": ("Prompt file (.txt, .jsonl, .csv) or - for standard input.",
                        "提示词文件（.txt、.jsonl、.csv），或用 - 从标准输入读取。"),
    "opt.input_format": ("Input format: txt, jsonl or csv (default: from the file name, or sniffed).",
                         "输入格式：txt、jsonl 或 csv（默认按文件名判断或自动识别）。"),
    "opt.skip_invalid": ("Run the valid lines and report the bad ones.", "只运行有效的行，并报告无效的行。"),
    "opt.retry_failed": ("Retry images that failed in an earlier run.", "重试之前运行中失败的图片。"),
    "opt.dry_run": ("Validate and show the plan and estimated cost; send nothing.",
                    "只校验并显示计划和预计费用，不发送请求。"),
    "opt.max_images": ("Make at most N images in this run.", "本次运行最多生成 N 张图片。"),
    # config
    "arg.config_key": ("Setting name, e.g. api-key.", "设置项名称，例如 api-key。"),
    "arg.config_value": ("New value; - reads it from standard input.", "新的值；用 - 从标准输入读取。"),
    # serve
    "opt.host": ("Address to listen on (default 127.0.0.1).", "监听地址（默认 127.0.0.1）。"),
    "opt.port": ("Port (default 5001; 0 picks a free one).", "端口（默认 5001；0 表示自动选择空闲端口）。"),
    "opt.token": ("Require the header 'Authorization: Bearer TOKEN'.", "要求请求携带 'Authorization: Bearer 令牌'。"),
    "opt.insecure": ("Allow a non-loopback address without a token.", "允许在非本机地址上无令牌提供服务。"),
    "opt.max_concurrent": ("Upstream calls in flight at most; more get 503 at once.",
                           "同时进行的上游调用上限，超出的请求立即返回 503。"),
    "opt.rate_limit": ("Requests per minute per client (0: off).", "每个客户端每分钟的请求数上限（0 表示不限）。"),
    "opt.max_samples": ("Images per request at most.", "每个请求最多生成的图片数。"),
    "opt.max_body": ("Largest request body in bytes.", "请求体的最大字节数。"),
    "opt.read_timeout": ("Seconds a client may take to send its request.", "客户端发送请求的最长秒数。"),
    "opt.max_connections": ("Open client connections at most; more get 503 at once.",
                            "同时打开的客户端连接上限，超出的连接立即收到 503。"),
    "opt.save": ("Also save every image in this folder.", "同时把每张图片保存到此文件夹。"),
    # ping
    "opt.collect_list": ("Only list the pending jobs; fetch nothing.", "只列出待取回的任务，不取回。"),
    "opt.server": ("Check a running `glm-image serve` at this URL (given alone: the configured address).",
                   "检查运行中的 `glm-image serve`（只写 --server 时使用配置的地址）。"),
    # history / again / info / gallery
    "opt.search": ("Only prompts containing this text.", "只显示包含此文本的提示词。"),
    "opt.since": ("Only since 30m, 3h, 2d, 1w or a date.", "只显示此时间之后的记录：30m、3h、2d、1w 或日期。"),
    "cmd.usage": ("What was spent: estimated cost of the requests made, by day, model or command, and the "
                  "budgets (budget-daily, budget-monthly).\n\nExamples:\n\n"
                  "glm-image usage\n\nglm-image usage --since 2026-11-01 --by model --json",
                  "花费统计：按天、模型或命令汇总已发请求的估算费用，以及预算（budget-daily、budget-monthly）。"
                  "\n\n示例：\n\nglm-image usage\n\nglm-image usage --since 2026-11-01 --by model --json"),
    "opt.usage_since": ("Only since 30m, 3h, 7d, 1w or a date (default: 30d).",
                        "只统计此时间之后：30m、3h、7d、1w 或日期（默认 30d）。"),
    "opt.usage_by": ("Group by day, model or command.", "按 day（天）、model（模型）或 command（命令）分组。"),
    "cmd.config_import": ("Import the original skill's .env (GLM_API_KEY, DEFAULT_MODEL, DEFAULT_WIDTH, …) "
                          "into the config file.\n\nExample: glm-image config import ~/glm-image/.env --dry-run",
                          "把原技能的 .env（GLM_API_KEY、DEFAULT_MODEL、DEFAULT_WIDTH 等）导入配置文件。"
                          "\n\n示例：glm-image config import ~/glm-image/.env --dry-run"),
    "arg.env_path": ("The .env file to read.", "要读取的 .env 文件。"),
    "opt.import_dry_run": ("Show what would change; write nothing.", "只显示将要改变的内容，不写入。"),
    "opt.failed": ("Only failed generations.", "只显示失败的记录。"),
    "opt.limit": ("How many entries (newest first).", "显示条数（最新的在前）。"),
    "opt.clear": ("Delete the whole history (asks first).", "删除全部历史记录（会先询问）。"),
    "opt.yes_clear": ("Do not ask before --clear.", "执行 --clear 前不询问。"),
    "arg.history_id": ("The id from `glm-image history`.", "`glm-image history` 中的编号。"),
    "arg.info_files": ("PNG files made by glm-image.", "glm-image 生成的 PNG 文件。"),
    "arg.gallery_folder": ("Folder of images (default: the output folder).", "图片文件夹（默认为输出文件夹）。"),
    "opt.open": ("Open the page in the web browser.", "在浏览器中打开页面。"),
    "opt.preview": ("Draw the image in the terminal after its path (setting `preview`: auto = on a terminal that "
                    "can show it).", "在路径之后于终端中显示图片（设置项 preview；auto 表示终端支持时显示）。"),
    "opt.preview_batch": ("Draw one contact sheet of the batch's images in the terminal at the end (setting "
                          "`preview`).", "结束时在终端中显示本批图片的缩略图总览（设置项 preview）。"),
    "arg.show_targets": ("Image files, folders or history ids.", "图片文件、文件夹或历史记录编号。"),
    "arg.grid_targets": ("Image files or folders.", "图片文件或文件夹。"),
    "opt.grid_output": ("Where to write the contact sheet (PNG).", "缩略图总览（PNG）的保存路径。"),
    "opt.columns": ("Thumbnails per row (default: about the square root of the count).",
                    "每行缩略图数（默认约为数量的平方根）。"),
    "opt.labels": ("Write each image's prompt under it (needs a font with Chinese glyphs).",
                   "在每张图下方写出提示词（需要含中文字形的字体）。"),
    # commands
    "cmd.root": (
        "Text-to-image on Zhipu BigModel / Z.ai (CogView-4, GLM-Image) from the command line.\n\n"
        "Start: glm-image config set api-key, then glm-image generate \"一只橘猫\" --style 卡通",
        "在命令行里用智谱 BigModel / Z.ai（CogView-4、GLM-Image）文生图。\n\n"
        "开始：先运行 glm-image config set api-key，再运行 glm-image generate \"一只橘猫\" --style 卡通",
    ),
    "cmd.generate": (
        "Generate images from a text prompt (Chinese or English).\n\nExamples:\n\n"
        "  glm-image generate \"一只可爱的卡通猫，白色背景\" --style 卡通\n\n"
        "  glm-image generate \"a lighthouse at dusk\" -n 2 --size 1344x768 -m cogview-4-250304 -o ./out\n\n"
        "  echo \"水墨山水\" | glm-image generate -\n\n"
        "  glm-image generate \"城市夜景\" --negative \"模糊，低质量\" --name \"{date}/{slug}\" --json",
        "根据提示词（中文或英文）生成图片。\n\n示例：\n\n"
        "  glm-image generate \"一只可爱的卡通猫，白色背景\" --style 卡通\n\n"
        "  glm-image generate \"a lighthouse at dusk\" -n 2 --size 1344x768 -m cogview-4-250304 -o ./out\n\n"
        "  echo \"水墨山水\" | glm-image generate -\n\n"
        "  glm-image generate \"城市夜景\" --negative \"模糊，低质量\" --name \"{date}/{slug}\" --json",
    ),
    "cmd.batch": (
        "Generate images for many prompts from a file; re-running resumes without paying twice.\n\n"
        "INPUT: one prompt per line (# comments skipped), .jsonl objects or a .csv with the fields prompt, "
        "style, negative, size, model, quality, n, name. Flags are defaults for every item.\n\nExamples:\n\n"
        "  glm-image batch prompts.txt --style 水彩 -o ./out\n\n"
        "  glm-image batch items.jsonl -j 4 --dry-run\n\n"
        "  glm-image batch ./out/failed.jsonl -o ./out\n\n"
        "  glm-image batch prompts.txt -o ./out --via batch-api\n\n"
        "  glm-image batch status ./out",
        "从文件批量生成图片；重新运行会续跑，不会重复付费。\n\n"
        "输入：每行一个提示词（# 开头的行跳过），或 .jsonl 对象、带表头的 .csv，字段为 prompt、style、negative、"
        "size、model、quality、n、name。命令行选项作为每一项的默认值。\n\n示例：\n\n"
        "  glm-image batch prompts.txt --style 水彩 -o ./out\n\n"
        "  glm-image batch items.jsonl -j 4 --dry-run\n\n"
        "  glm-image batch ./out/failed.jsonl -o ./out\n\n"
        "  glm-image batch prompts.txt -o ./out --via batch-api\n\n"
        "  glm-image batch status ./out",
    ),
    "cmd.config": ("Show and change settings (API key, model, size, style…).\n\nExample: glm-image config show",
                   "查看和修改设置（API 密钥、模型、尺寸、风格等）。\n\n示例：glm-image config show"),
    "cmd.config_set": (
        "Store a setting in the config file, checked first (a size must fit the model, a style must exist).\n\n"
        "With no VALUE for api-key you are asked with hidden input; - reads VALUE from standard input; "
        "--keyring keeps the key in the system keyring.\n\nExamples:\n\n  glm-image config set api-key\n\n"
        "  glm-image config set api-key --keyring\n\n"
        "  glm-image config set model cogview-3-flash\n\n  glm-image config set style 国风",
        "检查后把一个设置项保存到配置文件（尺寸须适用于模型，风格须存在）。\n\n"
        "api-key 不给出值时会以隐藏输入方式询问；- 表示从标准输入读取；--keyring 把密钥保存到系统密钥环。\n\n示例：\n\n"
        "  glm-image config set api-key\n\n  glm-image config set api-key --keyring\n\n"
        "  glm-image config set model cogview-3-flash\n\n  glm-image config set style 国风",
    ),
    "cmd.config_unset": ("Remove a setting from the config file (its default applies again).\n\n"
                         "Example: glm-image config unset style",
                         "从配置文件删除一个设置项（恢复默认值）。\n\n示例：glm-image config unset style"),
    "cmd.config_show": ("Show every setting, its value and where it comes from (flag > environment > file > "
                        "default); the key is masked.\n\nExample: glm-image config show --json",
                        "显示所有设置项、取值及来源（命令行参数 > 环境变量 > 配置文件 > 默认值），密钥打码。\n\n"
                        "示例：glm-image config show --json"),
    "cmd.config_path": ("Print the config file's path (GLM_IMAGE_CONFIG overrides it).\n\n"
                        "Example: glm-image config path",
                        "显示配置文件路径（可用 GLM_IMAGE_CONFIG 指定）。\n\n示例：glm-image config path"),
    "cmd.styles": ("List the style presets (built-in and yours) and the phrase each adds to the prompt.\n\n"
                   "Add your own in the config file's [styles] table, e.g. \"胶片\" = \"35mm film photo, grain\".\n\n"
                   "Example: glm-image generate \"一只橘猫\" --style 卡通",
                   "列出风格预设（内置和自定义）及其追加到提示词的内容。\n\n"
                   "可在配置文件的 [styles] 表中自定义，例如 \"胶片\" = \"35mm 胶片摄影，颗粒感\"。\n\n"
                   "示例：glm-image generate \"一只橘猫\" --style 卡通"),
    "cmd.models": ("List the image models: size rules, recommended sizes, qualities, price per image.\n\n"
                   "Example: glm-image models --json",
                   "列出图片模型：尺寸规则、推荐尺寸、画质选项、单张价格。\n\n示例：glm-image models --json"),
    "cmd.serve": (
        "Run a local HTTP image service: GET /ping, POST /txt2img (the original skill's API), "
        "POST /v1/images/generations, POST /v1/images/edits (backend openai) and GET /v1/models "
        "(OpenAI-compatible, base_url=http://127.0.0.1:5001/v1)."
        "\n\nExamples:\n\n  glm-image serve\n\n  glm-image serve --port 5002 --save ./served-images\n\n"
        "  curl -X POST http://127.0.0.1:5001/txt2img -H \"Content-Type: application/json\" "
        "-d '{\"prompt\": \"一只可爱的卡通猫\"}'",
        "启动本地 HTTP 图片服务：GET /ping、POST /txt2img（与原技能相同）、POST /v1/images/generations、"
        "POST /v1/images/edits（openai 后端）和 GET /v1/models（兼容 OpenAI，base_url=http://127.0.0.1:5001/v1）。"
        "\n\n示例：\n\n  glm-image serve\n\n"
        "  glm-image serve --port 5002 --save ./served-images\n\n"
        "  curl -X POST http://127.0.0.1:5001/txt2img -H \"Content-Type: application/json\" "
        "-d '{\"prompt\": \"一只可爱的卡通猫\"}'",
    ),
    "cmd.collect": (
        "List and fetch images paid for but not saved: asynchronous tasks (glm-image) of a `generate` that was "
        "killed, lost its session or was abandoned while polling. Each is polled (free, never submitted again) "
        "and saved where and as the original run would have.\n\nExamples:\n\n  glm-image collect --list\n\n"
        "  glm-image collect",
        "列出并取回已付费但未保存的图片：`generate` 在轮询时被结束、断开或放弃的异步任务（glm-image）。"
        "每个任务只查询结果（免费，不会重新提交），并按原运行的位置和方式保存。\n\n示例：\n\n"
        "  glm-image collect --list\n\n  glm-image collect",
    ),
    "cmd.ping": (
        "Check config, key, network and whether the key is accepted, without making (paying for) an image.\n\n"
        "Examples:\n\n  glm-image ping\n\n  glm-image ping --json\n\n  glm-image ping --server http://127.0.0.1:5001",
        "检查配置、密钥、网络以及密钥是否有效，不生成图片、不计费。\n\n示例：\n\n  glm-image ping\n\n"
        "  glm-image ping --json\n\n  glm-image ping --server http://127.0.0.1:5001",
    ),
    "cmd.history": ("List and search past generations; `history show ID` for one.\n\nExamples:\n\n"
                    "  glm-image history --search 猫 --since 2d\n\n  glm-image history show 12",
                    "查看和搜索生成历史；`history show 编号` 查看一条。\n\n示例：\n\n"
                    "  glm-image history --search 猫 --since 2d\n\n  glm-image history show 12"),
    "cmd.history_show": ("Show one history entry in full.\n\nExample: glm-image history show 12",
                         "显示一条完整的历史记录。\n\n示例：glm-image history show 12"),
    "cmd.again": ("Run a past generation again, optionally changing some of it.\n\nExamples:\n\n"
                  "  glm-image again 12\n\n  glm-image again 12 -n 4 --style 油画 --size 1344x768",
                  "重新运行一条历史记录，可修改部分参数。\n\n示例：\n\n  glm-image again 12\n\n"
                  "  glm-image again 12 -n 4 --style 油画 --size 1344x768"),
    "cmd.enhance": ("Rewrite a short prompt into a detailed one with a GLM chat model, as the image models' "
                    "makers recommend; prints the rewrite and makes no image.\n\nExamples:\n\n"
                    "  glm-image enhance \"一只猫\"\n\n  glm-image enhance \"a poster for a jazz night\" -m glm-image",
                    "按图像模型官方的建议，用 GLM 对话模型把简短的提示词扩写成详细描述；只输出改写结果，不生成图片。"
                    "\n\n示例：\n\n  glm-image enhance \"一只猫\"\n\n"
                    "  glm-image enhance \"爵士音乐节海报\" -m glm-image"),
    "cmd.info": ("Show how an image was made (the recipe glm-image embedded in it).\n\n"
                 "Example: glm-image info glm-images/*.png",
                 "查看图片的生成参数（glm-image 嵌入在图片中的配方）。\n\n示例：glm-image info glm-images/*.png"),
    "cmd.gallery": ("Write a self-contained index.html to browse a folder of images.\n\n"
                    "Example: glm-image gallery ./glm-images --open",
                    "为图片文件夹生成可离线浏览的 index.html。\n\n示例：glm-image gallery ./glm-images --open"),
    "cmd.show": ("Show images in the terminal (kitty, iTerm2, Sixel or colour half blocks), several as a grid, "
                 "with the prompt, model and size they were made with. Needs pip install 'glm-image[preview]'.\n\n"
                 "Example: glm-image show ./glm-images/cat.png 12",
                 "在终端中显示图片（kitty、iTerm2、Sixel 或彩色半块字符），多张以网格显示，并附提示词、模型和尺寸。"
                 "需要 pip install 'glm-image[preview]'。\n\n示例：glm-image show ./glm-images/cat.png 12"),
    "cmd.grid": ("Write a contact sheet: thumbnails of images on one PNG. Needs pip install 'glm-image[preview]'.\n\n"
                 "Example: glm-image grid ./glm-images -o sheet.png --columns 4 --labels",
                 "生成缩略图总览：把多张图片的缩略图拼成一张 PNG。需要 pip install 'glm-image[preview]'。\n\n"
                 "示例：glm-image grid ./glm-images -o sheet.png --columns 4 --labels"),
    "cmd.mcp": ("Run an MCP server over stdio so assistants (Claude Desktop, Cursor, …) can make images. "
                "Needs pip install 'glm-image[mcp]'.\n\n"
                "Register: {\"mcpServers\": {\"glm-image\": {\"command\": \"glm-image\", \"args\": [\"mcp\"]}}}",
                "以 MCP 协议（stdio）为智能助手（Claude Desktop、Cursor 等）提供生图工具，需要 "
                "pip install 'glm-image[mcp]'。\n\n"
                "注册：{\"mcpServers\": {\"glm-image\": {\"command\": \"glm-image\", \"args\": [\"mcp\"]}}}"),
    "cmd.chat": ("Make and refine images by talking: each line is a turn; with enhance on (the default) the "
                 "chat model sees the conversation, so \"make the sky darker\" changes the last picture. Slash "
                 "commands: /n /style /size /model /negative /enhance /again /undo /prompt /history /open /help /quit. "
                 "With stdin not a terminal, reads one line per turn from it (a priced turn above confirm-above "
                 "then needs --yes).\n\nExamples:\n\n  glm-image chat\n\n"
                 "  glm-image chat -m glm-image --style 水彩 -n 2\n\n  glm-image chat --yes < turns.txt",
                 "对话式生图与改图：每行是一轮；改写开启（默认）时对话模型能看到之前的对话，所以“天空暗一点”会修改上一张图。"
                 "斜杠命令：/n /style /size /model /negative /enhance /again /undo /prompt /history /open /help /quit。"
                 "标准输入不是终端时，每行读作一轮（超过 confirm-above 的付费轮次需要 --yes）。\n\n示例：\n\n"
                 "  glm-image chat\n\n  glm-image chat -m glm-image --style 水彩 -n 2\n\n"
                 "  glm-image chat --yes < turns.txt"),
    "opt.chat_enhance": ("Rewrite each line with the chat model, seeing the conversation (default on in chat; "
                         "/enhance on|off switches it).",
                         "用对话模型结合上下文改写每一行（chat 中默认开启；/enhance on|off 可切换）。"),
    # --- polish, round two (issue 26): prompt-file encodings ---------------------------------------------------
    "opt.encoding": (
        "The prompts' text encoding, e.g. gb18030 for a file saved by older Windows Notepad (default: UTF-8, or "
        "UTF-16 after its BOM). For batch's INPUT and generate's `-`.",
        "提示词的文本编码，例如旧版 Windows 记事本保存的文件用 gb18030（默认 UTF-8，文件以 BOM 开头时按 UTF-16）。"
        "用于 batch 的 INPUT 和 generate 的 `-`。",
    ),
    # --- prompt templates and alternatives/wildcards (issue 26 item 15, issue 29 item 2) ----------
    "cmd.template": (
        "Save, list, show, edit and delete prompt templates: a prompt with {name} variables and default "
        "settings.\n\nExamples:\n\n"
        "  glm-image template save poster \"海报，{subject}，{style}风格\" --size 1088x1920 --var style=水彩\n\n"
        "  glm-image generate -t poster subject=猫\n\n"
        "  glm-image template list",
        "保存、列出、查看、编辑和删除提示词模板：带 {name} 变量和默认设置的提示词。\n\n示例：\n\n"
        "  glm-image template save poster \"海报，{subject}，{style}风格\" --size 1088x1920 --var style=水彩\n\n"
        "  glm-image generate -t poster subject=猫\n\n"
        "  glm-image template list",
    ),
    "cmd.template_save": ("Save a template (replacing one of the same name). Flags become its defaults; "
                          "the command's own flags override them when it is used.",
                          "保存模板（同名则替换）。选项成为模板的默认值；使用模板时命令本身的选项优先。"),
    "cmd.template_list": ("List the saved templates.", "列出已保存的模板。"),
    "cmd.template_show": ("Show one template: its prompt, variables and defaults.",
                          "显示一个模板：提示词、变量和默认值。"),
    "cmd.template_delete": ("Delete a template.", "删除模板。"),
    "cmd.template_edit": ("Edit a template's JSON file in $EDITOR; an invalid edit keeps the old one.",
                          "在 $EDITOR 中编辑模板的 JSON 文件；编辑无效时保留原模板。"),
    "cmd.template_path": ("Print the folder the templates are kept in.", "打印保存模板的文件夹。"),
    "arg.template_name": ("The template's name.", "模板名。"),
    "arg.template_prompt": ("The prompt, with {name} variables (and {a|b} alternatives, __name__ wildcards).",
                            "提示词，可含 {name} 变量（以及 {a|b} 备选、__name__ 通配符）。"),
    "arg.prompt_words": ("The prompt (- reads standard input); with -t TEMPLATE, NAME=VALUE words instead.",
                         "提示词（- 表示从标准输入读取）；使用 -t 模板 时改为 名称=值。"),
    "opt.template": ("Use a saved prompt template; fill its variables with NAME=VALUE words.",
                     "使用已保存的提示词模板；用 名称=值 填写变量。"),
    "opt.template_var": ("A default value for a variable (NAME=VALUE); repeatable.",
                         "变量的默认值（名称=值）；可重复。"),
    "opt.expand": ("How {a|b} alternatives and __name__ wildcards expand: all (every combination, default) or "
                   "random:N.", "{a|b} 备选和 __name__ 通配符的展开方式：all（全部组合，默认）或 random:N。"),
    "opt.seed": ("Seed for --expand random:N: the same seed draws the same prompts.",
                 "--expand random:N 的随机种子：相同的种子抽到相同的提示词。"),
    "opt.wildcards": ("Folder of wildcard files (name.txt for __name__), searched before the data folder's "
                      "wildcards/.", "通配符文件夹（__name__ 对应 name.txt），先于数据目录的 wildcards/ 查找。"),
    "opt.max_images_expand": ("Refuse when the prompt expands to more than N images (default 100).",
                              "提示词展开后超过 N 张图片时拒绝（默认 100）。"),
    # the getting-started panel shown by a bare `glm-image`
    "start.title": ("glm-image: getting started", "glm-image 快速开始"),
    "start.body": (
        "1. Store your key (get one at {console_url}):\n     glm-image config set api-key\n"
        "2. Make an image:\n     glm-image generate \"一只橘猫\" --style 卡通\n"
        "3. Many prompts from a file, resumable:\n     glm-image batch prompts.txt -o ./out\n"
        "4. A local HTTP service (OpenAI-compatible):\n     glm-image serve\n\n"
        "glm-image --help lists every command; glm-image ping checks your setup for free.",
        "1. 保存密钥（在 {console_url} 获取）：\n     glm-image config set api-key\n"
        "2. 生成图片：\n     glm-image generate \"一只橘猫\" --style 卡通\n"
        "3. 从文件批量生成（可续跑）：\n     glm-image batch prompts.txt -o ./out\n"
        "4. 本地 HTTP 服务（兼容 OpenAI）：\n     glm-image serve\n\n"
        "glm-image --help 列出全部命令；glm-image ping 可免费检查配置。",
    ),
    # --- compare ---
    "cmd.compare": (
        "Make one prompt several ways and see them side by side: one image per combination of the values you "
        "give, a labelled grid.png and compare.json. The first axis you type runs across (X), the second down "
        "(Y), a third makes one grid per value (Z). Values are comma-separated; re-running the same command "
        "resumes without paying twice.\n\nExamples:\n\n"
        "  glm-image compare \"一只猫\" --model cogview-4,cogview-3-flash --style 水彩,油画,像素\n\n"
        "  glm-image compare \"a red car at dusk\" --prompt-sr \"red,blue,green\" --size 1024x1024,1344x768",
        "把同一个提示词按不同参数各生成一张，并排比较：按你给出的取值的每种组合各生成一张图，另外生成带标签的 grid.png "
        "和 compare.json。第一个给出的维度横向排列（X），第二个纵向（Y），第三个每个取值一张网格（Z）。取值用逗号分隔；"
        "再次运行同一命令会续跑，不会重复付费。\n\n示例：\n\n"
        "  glm-image compare \"一只猫\" --model cogview-4,cogview-3-flash --style 水彩,油画,像素\n\n"
        "  glm-image compare \"a red car at dusk\" --prompt-sr \"red,blue,green\" --size 1024x1024,1344x768",
    ),
    "arg.compare_prompt": ("The prompt every cell shares.", "所有格子共用的提示词。"),
    "opt.compare_model": ("Models to compare (one value: the model of every cell).",
                          "要比较的模型（只给一个值：所有格子都用它）。"),
    "opt.compare_style": ("Styles to compare.", "要比较的风格。"),
    "opt.compare_size": ("Sizes to compare (WxH each).", "要比较的尺寸（每个为 宽x高）。"),
    "opt.compare_quality": ("Qualities to compare (hd, standard).", "要比较的质量（hd、standard）。"),
    "opt.compare_negative": ("Negative prompts to compare.", "要比较的反向提示词。"),
    "opt.compare_enhance": ("Prompt enhancement on and off: on,off.", "提示词增强开和关：on,off。"),
    "opt.compare_prompt_sr": (
        "Search and replace: the first term, found in the prompt, is replaced by each of the others in turn.",
        "查找替换：提示词中的第一个词依次替换为其余各词。"),
    "opt.compare_samples": ("Images per cell.", "每个格子的图片数。"),
    "opt.compare_font": ("Font file for the grid's labels (default: a Chinese-capable font when one is found).",
                         "网格标签使用的字体文件（默认：找到的可显示中文的字体）。"),
    "opt.compare_skip_invalid": ("Run the valid cells and report the invalid ones.",
                                 "只生成有效的格子，并报告无效的格子。"),
    "opt.compare_max_images": ("Refuse a compare of more than N images before anything is sent.",
                               "图片总数超过 N 时拒绝运行（不发送任何请求）。"),
    "opt.compare_dry_run": ("List the cells and the estimated cost; send nothing.",
                            "列出所有格子和预计费用，不发送请求。"),
    # options Typer/Click add by themselves, and the words of every --help page
    "opt.help": ("Show this help and exit.", "显示本帮助并退出。"),
    "opt.install_completion": ("Install TAB completion for the current shell.", "为当前 shell 安装 TAB 补全。"),
    "opt.show_completion": ("Print the TAB completion script for the current shell (to copy or customise it).",
                            "打印当前 shell 的 TAB 补全脚本（便于复制或自行安装）。"),
    "page.usage": ("Usage:", "用法："),
    "page.arguments": ("Arguments:", "参数："),
    "page.options": ("Options:", "选项："),
    "page.commands": ("Commands:", "命令："),
    "page.default": ("default: {default}", "默认：{default}"),
    "page.required": ("required", "必填"),
    # command-line mistakes Click finds (wrong flags, missing arguments): one line, then where to read more
    "usage.try_help": ("{problem}. Try '{command} --help'.", "{problem}。用法见 '{command} --help'。"),
    "usage.missing_argument": ("Missing {name}", "缺少 {name}"),
    "usage.missing_option": ("Missing option {name}", "缺少选项 {name}"),
    "usage.missing_command": ("Missing COMMAND", "缺少子命令"),
    "usage.no_such_option": ("No such option {name}", "没有选项 {name}"),
    "usage.no_such_command": ("No such command '{name}'", "没有命令 '{name}'"),
    "usage.did_you_mean": (" (did you mean {names}?)", "（是否想用 {names}？）"),
    "usage.needs_value": ("{name} needs a value", "{name} 需要一个值"),
    "usage.no_value": ("{name} does not take a value", "{name} 不接受值"),
    "usage.invalid_value": ("Invalid value for {name}: {detail}", "{name} 的值无效：{detail}"),
    "usage.not_integer": ("expected a whole number", "应为整数"),
    "usage.not_number": ("expected a number", "应为数字"),
    "usage.extra_arguments": ("Unexpected extra argument: {args}", "多余的参数：{args}"),
    # --- config get, config edit, --keyring (issue 26) ---------------------------------------------------
    "opt.keyring": ("Keep the API key in the system keyring (pip install 'glm-image[keyring]'); the config file "
                    "keeps only a marker.",
                    "把 API 密钥保存到系统密钥环（pip install 'glm-image[keyring]'）；配置文件中只留一个标记。"),
    "cmd.config_get": (
        "Print one setting's value alone, as it applies now (flag > environment > file > default), for scripts; "
        "nothing when it is not set. A secret is shown masked.\n\nExamples:\n\n"
        "  glm-image config get output-dir\n\n  glm-image --profile gpu config get base-url",
        "只打印一个设置项当前生效的值（命令行参数 > 环境变量 > 配置文件 > 默认值），便于脚本使用；"
        "未设置时不输出。密钥会打码。\n\n示例：\n\n"
        "  glm-image config get output-dir\n\n  glm-image --profile gpu config get base-url",
    ),
    "cmd.config_edit": (
        "Open the config file in your editor (VISUAL, else EDITOR, else nano or vi; Notepad on Windows). "
        "It is checked when the editor closes: an invalid file is not saved, the old one is kept and the "
        "reason is shown.\n\nExamples:\n\n  glm-image config edit\n\n  EDITOR=\"code --wait\" glm-image config edit",
        "用编辑器打开配置文件（VISUAL，其次 EDITOR，否则 nano 或 vi；Windows 上为记事本）。"
        "关闭编辑器时会检查文件：无效的文件不会保存，保留原文件并说明原因。\n\n示例：\n\n"
        "  glm-image config edit\n\n  EDITOR=\"code --wait\" glm-image config edit",
    ),
    # generate --dry-run, --open and -o - (issue 26: 11, 12, 13)
    "opt.generate_dry_run": ("Show the plan and the estimated cost; send nothing (no key needed).",
                             "显示计划与预计费用；不发送任何请求（无需密钥）。"),
    "opt.open_viewer": ("Open the saved image(s) in the system viewer (nothing happens where there is none).",
                        "用系统看图程序打开保存的图片（没有看图程序时什么也不做）。"),
    "opt.generate_output_dir": ("Folder for the images (default: setting output-dir, ./glm-images). With -o - the "
                                "image goes to stdout for a pipe, a copy kept in the default folder.",
                                "图片保存目录（默认取设置项 output-dir，即 ./glm-images）。用 -o - 时图片写到标准输出"
                                "供管道使用，并在默认目录保留一份。"),
    "opt.chat_preview": ("Draw each turn's images in the terminal (default: setting preview; the size is setting "
                         "chat-preview-width, a quarter of the width).",
                         "在终端里显示每一轮的图片（默认取设置项 preview；大小取设置项 chat-preview-width，"
                         "即终端宽度的四分之一）。"),
    # batch --via batch-api
    "opt.batch_via": (
        "direct: call the API for each image (default, the `batch-via` setting); batch-api: the platform's Batch "
        "API, half price, may take hours (re-run to collect).",
        "direct：每张图片直接调用 API（默认，见 `batch-via` 设置）；batch-api：平台的 Batch API，半价，"
        "可能需要数小时（再次运行以取回）。",
    ),
    "arg.batch_folder": ("With status or cancel: the output folder of a --via batch-api batch.",
                         "与 status 或 cancel 一起使用：--via batch-api 批任务的输出文件夹。"),
    # --- vision checks, best-of and captions: --check, --best-of, --caption, check, caption (issue 28) ---
    "opt.check": ("After each image is saved, ask the vision model (setting check-model, free glm-4.6v-flash) how "
                  "well it matches the prompt and read its text; the verdict goes into the image, history and --json.",
                  "每张图片保存后，请视觉模型（设置项 check-model，免费的 glm-4.6v-flash）评估它与提示词的符合程度"
                  "并识别图中文字；结果写入图片、历史记录和 --json。"),
    "opt.best_of": ("Make N candidates (2-8, each paid for), check each, keep the best; the others go to "
                    "candidates/ beside it.",
                    "生成 N 张候选（2-8，每张都计费），逐一检查，保留最好的一张；其余放在旁边的 candidates/ 文件夹。"),
    "opt.discard_candidates": ("With --best-of: delete the candidates that lost instead of keeping them.",
                               "与 --best-of 一起使用：删除落选的候选图，而不是保留。"),
    "opt.caption": ("Write a one-sentence description into each PNG (the standard Description key: alt text) and "
                    "the history.",
                    "把一句话描述写入每张 PNG（标准 Description 字段，即替代文字）和历史记录。"),
    "opt.check_prompt": ("Judge against this prompt (default: the prompt in each image's recipe).",
                         "对照此提示词评估（默认：每张图片配方中的提示词）。"),
    "opt.caption_lang": ("The caption's language, and the messages': zh or en (default: the language of each "
                         "image's prompt, else English).",
                         "描述和提示信息的语言：zh 或 en（默认：每张图片提示词的语言，否则英文）。"),
    "arg.check_targets": ("Images: files, history ids or folders.", "图片：文件、历史编号或文件夹。"),
    "cmd.check": ("Ask the vision model how well images on disk match their prompt, and read their text; the "
                  "verdict goes into each PNG and the history (free with glm-4.6v-flash).\n\n"
                  "Examples:\n\n  glm-image check glm-images/\n\n"
                  "  glm-image check poster.png --prompt 'a poster that says \"HELLO\"'",
                  "请视觉模型评估磁盘上的图片与提示词的符合程度并识别文字；结果写入每张 PNG 和历史记录"
                  "（使用 glm-4.6v-flash 免费）。\n\n"
                  "示例：\n\n  glm-image check glm-images/\n\n"
                  "  glm-image check poster.png --prompt '写着\"新年快乐\"'"),
    "cmd.caption": ("Write a one-sentence description (alt text) into images as the standard PNG Description "
                    "key, which other tools and the gallery show.\n\nExample: glm-image caption glm-images/ --lang en",
                    "为图片写入一句话描述（替代文字），存为标准 PNG Description 字段，其他工具和画廊都会显示。\n\n"
                    "示例：glm-image caption glm-images/ --lang zh"),
}
