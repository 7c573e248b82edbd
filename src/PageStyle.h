// The look of the pages the server writes itself (built-in error pages, directory listings): the
// bundled site's colours, header bar and tables (www/style.css), inlined and cut to the few rules
// those pages use, so a page needs no second request and looks the same under any document root.
// A macro, so that the error pages stay single string literals.
#pragma once

#define HS_PAGE_HEAD_OPEN                                                      \
  "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"          \
  "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n" \
  "<style>body{margin:0;background:#f8fafc;color:#1f2937;"                     \
  "font:17px/1.6 system-ui,sans-serif}"                                        \
  "header{background:linear-gradient(90deg,#1e40af,#3268a0);color:#fff;"       \
  "padding:1rem 1.25rem;font-weight:700}"                                      \
  "main{max-width:52rem;margin:0 auto;padding:2rem 1.25rem}a{color:#1e40af}"   \
  ".code{font-size:5rem;font-weight:800;color:#1e40af;margin:0;line-height:1}" \
  "table{border-collapse:collapse;width:100%}"                                 \
  "th,td{text-align:left;padding:.3rem .6rem;border-bottom:1px solid #e5e7eb}" \
  "th{background:#dbeafe}.n{text-align:right;font-variant-numeric:tabular-nums}</style>\n"

// After the <title>: closes the head and opens the body with the site's header bar.
#define HS_PAGE_BODY_OPEN "</head>\n<body><header>HttpServer</header>\n<main>"
#define HS_PAGE_CLOSE "</main></body></html>\n"
