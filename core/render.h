/*
 * render.h: a report (core/rmodel.h) as text, Markdown, JSON, CSV or a
 * self-contained HTML page with its charts drawn as inline SVG.
 */
#ifndef XR_CORE_RENDER_H
#define XR_CORE_RENDER_H

#include "../lib/buf.h"
#include "rmodel.h"

enum render_format { RENDER_TEXT, RENDER_MD, RENDER_JSON, RENDER_CSV, RENDER_HTML };

int render_format_parse(const char *s, enum render_format *ret);
void render(const struct report *r, enum render_format f, struct buf *out);

#endif
