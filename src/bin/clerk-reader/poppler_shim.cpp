// The few poppler calls clerk makes, behind a C interface for Rust.
//
// Text comes from poppler's TextOutputDev with the parameters `pdftotext -layout` uses, and page
// images from SplashOutputDev with those of `pdftoppm -gray`, so clerk reads exactly what the
// tools invoice2data templates and OCR pipelines are written against. This file runs only inside
// a reader process (clerk-reader); every call is bounded by a budget checked from poppler's abort
// callback, and no C++ exception crosses into Rust.

#include <poppler-config.h>
#include <Catalog.h>
#include <Error.h>
#include <FileSpec.h>
#include <GlobalParams.h>
#include <PDFDoc.h>
#include <Page.h>
#include <SplashOutputDev.h>
#include <Stream.h>
#include <TextOutputDev.h>
#include <splash/SplashBitmap.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <algorithm>
#include <set>
#include <vector>
#include <string>

enum {
    CLERK_OK = 0,
    CLERK_DAMAGED = 1,
    CLERK_ENCRYPTED = 2,
    CLERK_REFUSED = 3, // a budget ran out; `refused` in the budget says which
    CLERK_NO_MEMORY = 4,
    CLERK_FAILED = 5,
};

// Which limit stopped a page.
enum {
    REFUSED_NONE = 0,
    REFUSED_OPERATORS = 1,
    REFUSED_TIME = 2,
    REFUSED_IMAGE = 3,
    REFUSED_CHARACTERS = 4,
    REFUSED_NESTING = 5,
    REFUSED_CONTENT = 6,
    REFUSED_TOUNICODE = 7,
};

// Most nested `q` a page may have open: real pages stay below a few dozen.
static const int MAX_STATE_DEPTH = 10000;
// Characters of text one page may lay out (a dense page has a few thousand).
static const uint64_t MAX_PAGE_CHARS = 1000000;
// Mappings poppler may make building one font's ToUnicode table. A range's codes are clamped to
// the font's code space first, as poppler clamps them (a simple font's to 255, a CID font's to
// 65,535), so real tables with ranges past the code space cost nothing; what is left is what
// poppler does: one entry per code per range, overlapping ranges counted again. 64 Mi mappings
// take poppler about a second here; real tables have at most a few hundred thousand.
static const uint64_t MAX_TOUNICODE_CODES = 64u << 20;

// What one page may cost. Poppler calls the abort check about every ten operators, also inside
// form XObjects, Type 3 glyphs and annotations, so a page that draws itself millions of times
// stops early; the output devices below flag the other limits, and the next check stops the page.
struct clerk_budget {
    uint64_t max_ops;
    double deadline; // CLOCK_MONOTONIC seconds; 0 = none
    uint64_t max_image_pixels;
    uint64_t max_content_bytes;
    uint64_t ops;
    int refused;
    // The first image whose rows are too long to read, which was not drawn.
    int image_width;
    int image_height;
    uint64_t chars;
    int depth;
};

static void refuse(clerk_budget *b, int why) {
    if (!b->refused) {
        b->refused = why;
    }
}

struct clerk_pdf {
    std::unique_ptr<PDFDoc> doc;
    // Fonts whose ToUnicode table was checked already (pages share their fonts).
    std::set<std::pair<int, int>> checked_fonts;
};

static std::string last_errors;

static void on_error(ErrorCategory category, Goffset pos, const char *msg) {
    (void)pos;
    // Kept for the logs; a document with thousands of syntax errors must not grow this.
    if (category == errSyntaxWarning || last_errors.size() > 4000) {
        return;
    }
    if (!last_errors.empty()) {
        last_errors += "; ";
    }
    last_errors += msg;
}

static double now_seconds() {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

// Charges `ops` operators to the budget; true once any limit has stopped the page.
static bool charge(clerk_budget *b, uint64_t ops) {
    uint64_t before = b->ops;
    b->ops += ops;
    if (b->max_ops && b->ops > b->max_ops) {
        refuse(b, REFUSED_OPERATORS);
    }
    // The clock is read every 1024 operators: cheap, and still often.
    if (b->deadline > 0 && (before >> 10) != (b->ops >> 10) && now_seconds() > b->deadline) {
        refuse(b, REFUSED_TIME);
    }
    return b->refused != REFUSED_NONE;
}

// Poppler calls this about every ten operators of a content stream.
static bool abort_check(void *data) {
    return charge(static_cast<clerk_budget *>(data), 10);
}

// Drawing a form costs far more than an operator (its object is fetched and parsed anew).
static const uint64_t FORM_COST = 100;

// Counts what a page draws that the abort check cannot see: open graphics states, characters,
// and every form and Type 3 glyph drawn. Poppler restarts its abort-check counter in each
// content stream and checks only after ten operators, so forms of a few operators each that
// draw one another (10^8 drawings in a few kilobytes) would never reach it; here each form is
// charged when it is drawn, and once a limit is hit no further form or glyph is expanded.
template<typename Base>
class Counting : public Base {
public:
    template<typename... Args>
    Counting(clerk_budget *b, Args &&...args) : Base(std::forward<Args>(args)...), budget(b) { }

    // Asked before each form is drawn: true hands it to drawForm, which draws nothing.
    bool useDrawForm() override { return charge(budget, FORM_COST); }
    void drawForm(Ref) override { }
    bool beginType3Char(GfxState *state, double x, double y, double dx, double dy, CharCode code, const Unicode *u, int uLen) override {
        if (charge(budget, 10)) {
            return true; // skip the glyph's drawing
        }
        return Base::beginType3Char(state, x, y, dx, dy, code, u, uLen);
    }

    void saveState(GfxState *state) override {
        if (++budget->depth > MAX_STATE_DEPTH) {
            refuse(budget, REFUSED_NESTING);
        }
        Base::saveState(state);
    }
    void restoreState(GfxState *state) override {
        budget->depth--;
        Base::restoreState(state);
    }
    void drawChar(GfxState *state, double x, double y, double dx, double dy, double originX, double originY, CharCode c, int nBytes, const Unicode *u, int uLen) override {
        if (++budget->chars > MAX_PAGE_CHARS) {
            refuse(budget, REFUSED_CHARACTERS);
            return;
        }
        Base::drawChar(state, x, y, dx, dy, originX, originY, c, nBytes, u, uLen);
    }

protected:
    clerk_budget *budget;
};

// Text needs no pixels: images are skipped unread (Gfx itself skips an inline image's data to its
// `EI`), so an image claiming billions of pixels costs nothing here.
class ClerkText : public Counting<TextOutputDev> {
public:
    using Counting<TextOutputDev>::Counting;
    void drawImageMask(GfxState *, Object *, Stream *, int, int, bool, bool, bool) override { }
    void drawImage(GfxState *, Object *, Stream *, int, int, GfxImageColorMap *, bool, const int *, bool) override { }
    void drawMaskedImage(GfxState *, Object *, Stream *, int, int, GfxImageColorMap *, bool, Stream *, int, int, bool, bool) override { }
    void drawSoftMaskedImage(GfxState *, Object *, Stream *, int, int, GfxImageColorMap *, bool, Stream *, int, int, GfxImageColorMap *, bool) override { }
};

// An image row longer than this is no image a page shows (a 100,000-pixel-wide CMYK row at 16
// bits is 800 KB).
static const size_t MAX_IMAGE_ROW_BYTES = 64u << 20;

// An image larger than the pixel budget is not refused: Splash reads an image row by row and
// draws it at the page's resolution, so its pixel count costs time, not memory (a 34862×4332
// scan renders at 300 dpi within the memory limit). Such an image is read here row by row, the
// deadline checked as it goes and a stream that ends early ending it, sampled down to what the
// page shows of it at this resolution and within the budget (nearest sample, so colour maps,
// indexed colours and colour-key masks stay exact), and the smaller image is drawn in its place.
struct Reduced {
    std::vector<char> data;
    int width = 0;
    int height = 0;
    std::unique_ptr<MemStream> stream;
};

// One sample of `bits` bits (1, 2, 4, 8 or 16) at index `k` of a packed row.
static unsigned sample(const unsigned char *row, size_t k, int bits) {
    if (bits == 16) {
        return (unsigned)row[2 * k] << 8 | row[2 * k + 1];
    }
    if (bits == 8) {
        return row[k];
    }
    size_t bit = k * (size_t)bits;
    return (row[bit / 8] >> (8 - bits - bit % 8)) & ((1u << bits) - 1);
}

static void put_sample(unsigned char *row, size_t k, int bits, unsigned v) {
    if (bits == 16) {
        row[2 * k] = (unsigned char)(v >> 8);
        row[2 * k + 1] = (unsigned char)v;
    } else if (bits == 8) {
        row[k] = (unsigned char)v;
    } else {
        size_t bit = k * (size_t)bits;
        row[bit / 8] |= (unsigned char)(v << (8 - bits - bit % 8));
    }
}

// False when there is nothing to draw: an image without pixels, or one that stopped the page (the
// budget says why).
static bool reduce(clerk_budget *budget, GfxState *state, Stream *str, int width, int height, int comps, int bits, Reduced &out) {
    if (width <= 0 || height <= 0 || comps <= 0 || comps > 32 || (bits != 1 && bits != 2 && bits != 4 && bits != 8 && bits != 16)) {
        return false;
    }
    size_t in_row = ((size_t)width * comps * bits + 7) / 8;
    if (in_row > MAX_IMAGE_ROW_BYTES) {
        if (!budget->image_width) {
            budget->image_width = width;
            budget->image_height = height;
        }
        refuse(budget, REFUSED_IMAGE);
        return false;
    }
    // What the page shows of the image: the lengths its edges have on the rendered page.
    const double *m = state->getCTM();
    double along_w = std::ceil(std::hypot(m[0], m[1])), along_h = std::ceil(std::hypot(m[2], m[3]));
    int w = (int)std::clamp(std::isfinite(along_w) ? along_w : (double)width, 1.0, (double)width);
    int h = (int)std::clamp(std::isfinite(along_h) ? along_h : (double)height, 1.0, (double)height);
    if (budget->max_image_pixels && (uint64_t)w * (uint64_t)h > budget->max_image_pixels) {
        double scale = std::sqrt((double)budget->max_image_pixels / ((double)w * (double)h));
        w = std::max(1, (int)(w * scale));
        h = std::max(1, (int)(h * scale));
    }
    size_t out_row = ((size_t)w * comps * bits + 7) / 8;
    // Rows past an early end of the stream read as poppler pads them (all bits set).
    out.data.assign(out_row * (size_t)h, (char)0xff);
    std::vector<unsigned char> row(in_row);
    std::vector<size_t> columns((size_t)w);
    for (int i = 0; i < w; ++i) {
        columns[(size_t)i] = (size_t)(((int64_t)i * 2 + 1) * width / (2 * (int64_t)w));
    }
    str->reset();
    int next = 0;
    for (int y = 0; y < height && next < h; ++y) {
        if ((y & 63) == 0 && budget->deadline > 0 && now_seconds() > budget->deadline) {
            refuse(budget, REFUSED_TIME);
            str->close();
            return false;
        }
        size_t got = 0;
        while (got < in_row) {
            int n = str->doGetChars((int)std::min<size_t>(in_row - got, 1u << 20), row.data() + got);
            if (n <= 0) {
                break;
            }
            got += (size_t)n;
        }
        bool ended = got < in_row;
        std::fill(row.begin() + (std::ptrdiff_t)got, row.end(), 0xff);
        while (next < h && ((int64_t)next * 2 + 1) * height / (2 * (int64_t)h) <= y) {
            auto *dst = reinterpret_cast<unsigned char *>(out.data.data()) + (size_t)next * out_row;
            std::fill(dst, dst + out_row, 0);
            for (int i = 0; i < w; ++i) {
                for (int c = 0; c < comps; ++c) {
                    put_sample(dst, (size_t)i * comps + c, bits, sample(row.data(), columns[(size_t)i] * comps + c, bits));
                }
            }
            ++next;
        }
        if (ended) {
            break;
        }
    }
    str->close();
    out.width = w;
    out.height = h;
    out.stream = std::make_unique<MemStream>(out.data.data(), 0, (Goffset)out.data.size(), Object(objNull));
    return true;
}

class ClerkSplash : public Counting<SplashOutputDev> {
public:
    ClerkSplash(clerk_budget *b, SplashColorPtr paper) : Counting<SplashOutputDev>(b, splashModeMono8, 4, false, paper, true) { }

    void drawImageMask(GfxState *state, Object *ref, Stream *str, int width, int height, bool invert, bool interpolate, bool inlineImg) override {
        Reduced r;
        if (small(width, height)) {
            SplashOutputDev::drawImageMask(state, ref, str, width, height, invert, interpolate, inlineImg);
        } else if (reduce(budget, state, str, width, height, 1, 1, r)) {
            SplashOutputDev::drawImageMask(state, ref, r.stream.get(), r.width, r.height, invert, interpolate, inlineImg);
        }
    }
    void setSoftMaskFromImageMask(GfxState *state, Object *ref, Stream *str, int width, int height, bool invert, bool inlineImg, double *baseMatrix) override {
        Reduced r;
        if (small(width, height)) {
            SplashOutputDev::setSoftMaskFromImageMask(state, ref, str, width, height, invert, inlineImg, baseMatrix);
        } else if (reduce(budget, state, str, width, height, 1, 1, r)) {
            SplashOutputDev::setSoftMaskFromImageMask(state, ref, r.stream.get(), r.width, r.height, invert, inlineImg, baseMatrix);
        }
    }
    void drawImage(GfxState *state, Object *ref, Stream *str, int width, int height, GfxImageColorMap *colorMap, bool interpolate, const int *maskColors, bool inlineImg) override {
        Reduced r;
        if (small(width, height)) {
            SplashOutputDev::drawImage(state, ref, str, width, height, colorMap, interpolate, maskColors, inlineImg);
        } else if (reduce(budget, state, str, width, height, colorMap->getNumPixelComps(), colorMap->getBits(), r)) {
            SplashOutputDev::drawImage(state, ref, r.stream.get(), r.width, r.height, colorMap, interpolate, maskColors, inlineImg);
        }
    }
    void drawMaskedImage(GfxState *state, Object *ref, Stream *str, int width, int height, GfxImageColorMap *colorMap, bool interpolate, Stream *maskStr, int maskWidth, int maskHeight, bool maskInvert, bool maskInterpolate) override {
        if (small(width, height) && small(maskWidth, maskHeight)) {
            SplashOutputDev::drawMaskedImage(state, ref, str, width, height, colorMap, interpolate, maskStr, maskWidth, maskHeight, maskInvert, maskInterpolate);
            return;
        }
        Reduced image, mask;
        if (reduce(budget, state, str, width, height, colorMap->getNumPixelComps(), colorMap->getBits(), image) && reduce(budget, state, maskStr, maskWidth, maskHeight, 1, 1, mask)) {
            SplashOutputDev::drawMaskedImage(state, ref, image.stream.get(), image.width, image.height, colorMap, interpolate, mask.stream.get(), mask.width, mask.height, maskInvert, maskInterpolate);
        }
    }
    void drawSoftMaskedImage(GfxState *state, Object *ref, Stream *str, int width, int height, GfxImageColorMap *colorMap, bool interpolate, Stream *maskStr, int maskWidth, int maskHeight, GfxImageColorMap *maskColorMap,
                             bool maskInterpolate) override {
        if (small(width, height) && small(maskWidth, maskHeight)) {
            SplashOutputDev::drawSoftMaskedImage(state, ref, str, width, height, colorMap, interpolate, maskStr, maskWidth, maskHeight, maskColorMap, maskInterpolate);
            return;
        }
        Reduced image, mask;
        if (reduce(budget, state, str, width, height, colorMap->getNumPixelComps(), colorMap->getBits(), image)
            && reduce(budget, state, maskStr, maskWidth, maskHeight, maskColorMap->getNumPixelComps(), maskColorMap->getBits(), mask)) {
            SplashOutputDev::drawSoftMaskedImage(state, ref, image.stream.get(), image.width, image.height, colorMap, interpolate, mask.stream.get(), mask.width, mask.height, maskColorMap, maskInterpolate);
        }
    }

private:
    bool small(int width, int height) const { return width > 0 && height > 0 && (!budget->max_image_pixels || (uint64_t)width * (uint64_t)height <= budget->max_image_pixels); }
};

extern "C" void clerk_poppler_init(void) {
    if (!globalParams) {
        globalParams = std::make_unique<GlobalParams>();
        setErrorCallback(on_error);
    }
}

extern "C" const char *clerk_poppler_errors(void) {
    return last_errors.c_str();
}

extern "C" void clerk_poppler_clear_errors(void) {
    last_errors.clear();
}

extern "C" double clerk_now(void) {
    return now_seconds();
}

// Opens a PDF held in memory; `data` must outlive the document. An empty user password is tried
// (as every viewer does), so files restricted only against printing or copying open.
extern "C" clerk_pdf *clerk_pdf_open(const char *data, size_t len, int *status) {
    try {
        clerk_poppler_init();
        auto *stream = new MemStream(data, 0, (Goffset)len, Object(objNull));
        auto doc = std::make_unique<PDFDoc>(stream);
        if (!doc->isOk()) {
            *status = doc->getErrorCode() == errEncrypted ? CLERK_ENCRYPTED : CLERK_DAMAGED;
            return nullptr;
        }
        *status = CLERK_OK;
        auto *pdf = new clerk_pdf;
        pdf->doc = std::move(doc);
        return pdf;
    } catch (const std::bad_alloc &) {
        *status = CLERK_NO_MEMORY;
    } catch (...) {
        *status = CLERK_FAILED;
    }
    return nullptr;
}

extern "C" void clerk_pdf_close(clerk_pdf *pdf) {
    delete pdf;
}

// The page count from the page tree's /Count, checked against the number of objects, before any
// page is read.
extern "C" int clerk_pdf_pages(clerk_pdf *pdf) {
    try {
        return pdf->doc->getNumPages();
    } catch (...) {
        return 0;
    }
}

// Media box size in points, after /Rotate.
extern "C" int clerk_pdf_page_size(clerk_pdf *pdf, int page, double *w, double *h) {
    try {
        Page *p = pdf->doc->getPage(page);
        if (!p) {
            return CLERK_DAMAGED;
        }
        *w = p->getMediaWidth();
        *h = p->getMediaHeight();
        int rotate = p->getRotate();
        if (rotate == 90 || rotate == 270) {
            double t = *w;
            *w = *h;
            *h = t;
        }
        return CLERK_OK;
    } catch (...) {
        return CLERK_FAILED;
    }
}

// Decoded bytes of a stream, read until `limit` is passed.
static uint64_t decoded_size(Object &obj, uint64_t limit) {
    if (!obj.isStream()) {
        return 0;
    }
    Stream *str = obj.getStream();
    str->reset();
    unsigned char buf[65536];
    uint64_t total = 0;
    int n;
    while (total <= limit && (n = str->doGetChars(sizeof buf, buf)) > 0) {
        total += (uint64_t)n;
    }
    str->close();
    return total;
}

// The most a stream can decode to without decoding it: its length, times 3000 behind one filter
// (Flate's and LZW's ceilings are near 1000 and 2700); unknown behind a chain.
static uint64_t decoded_bound(Object &obj) {
    if (!obj.isStream()) {
        return 0;
    }
    Object filter = obj.streamGetDict()->lookup("Filter");
    int filters = filter.isNull() ? 0 : filter.isName() ? 1 : filter.isArray() ? filter.arrayGetLength() : 2;
    BaseStream *base = obj.getStream()->getBaseStream();
    if (filters > 1 || !base || base->getLength() < 0) {
        return UINT64_MAX / 2;
    }
    uint64_t raw = (uint64_t)base->getLength();
    return filters == 0 ? raw : raw * 3000;
}

// Character codes a ToUnicode CMap's bfrange entries cover, counted without building the map
// (poppler fills one entry per code, so a few kilobytes of ranges can cost minutes), each range
// clamped to `max_code` as poppler's parser clamps it.
static uint64_t tounicode_codes(Object &obj, uint64_t limit, uint64_t max_code) {
    if (!obj.isStream()) {
        return 0;
    }
    std::string cmap;
    Stream *str = obj.getStream();
    str->reset();
    unsigned char buf[65536];
    int n;
    while (cmap.size() < (16u << 20) && (n = str->doGetChars(sizeof buf, buf)) > 0) {
        cmap.append(reinterpret_cast<char *>(buf), (size_t)n);
    }
    str->close();
    uint64_t codes = 0;
    size_t pos = 0;
    while ((pos = cmap.find("beginbfrange", pos)) != std::string::npos && codes <= limit) {
        size_t end = cmap.find("endbfrange", pos);
        if (end == std::string::npos) {
            end = cmap.size();
        }
        // Each entry: <lo> <hi> then <dst> or [ ... ].
        uint64_t values[2];
        int have = 0;
        bool in_array = false;
        for (size_t i = pos + 12; i < end && codes <= limit; ++i) {
            char c = cmap[i];
            if (c == '[') {
                in_array = true;
            } else if (c == ']') {
                in_array = false;
                have = 0;
            } else if (c == '<' && !in_array) {
                size_t close = cmap.find('>', i);
                if (close == std::string::npos || close > end) {
                    break;
                }
                uint64_t v = 0;
                for (size_t j = i + 1; j < close && j < i + 17; ++j) {
                    char h = cmap[j];
                    int d = (h >= '0' && h <= '9') ? h - '0' : (h >= 'a' && h <= 'f') ? h - 'a' + 10 : (h >= 'A' && h <= 'F') ? h - 'A' + 10 : -1;
                    if (d >= 0) {
                        v = (v << 4) | (uint64_t)d;
                    }
                }
                if (have < 2) {
                    values[have++] = v;
                } else {
                    uint64_t lo = std::min(values[0], max_code), hi = std::min(values[1], max_code);
                    if (hi >= lo) {
                        codes += hi - lo + 1;
                    }
                    have = 0;
                }
                i = close;
            }
        }
        pos = end;
    }
    return codes;
}

// Cheap checks before a page is displayed: the decoded size of its content and of the forms it
// uses, and what its fonts' ToUnicode tables would cost to build.
static int precheck_page(clerk_pdf *pdf, int page, clerk_budget *budget) {
    Page *p = pdf->doc->getPage(page);
    if (!p) {
        return CLERK_FAILED;
    }
    uint64_t limit = budget->max_content_bytes ? budget->max_content_bytes : UINT64_MAX;
    // The page's content streams and the forms it names.
    std::vector<Object> streams;
    Object contents = p->getContents();
    if (contents.isArray()) {
        for (int i = 0; i < contents.arrayGetLength(); ++i) {
            streams.push_back(contents.arrayGet(i));
        }
    } else {
        streams.push_back(std::move(contents));
    }
    Dict *resources = p->getResourceDict();
    if (resources) {
        Object xobjects = resources->lookup("XObject");
        if (xobjects.isDict()) {
            for (int i = 0; i < xobjects.dictGetLength(); ++i) {
                Object x = xobjects.dictGetVal(i);
                if (x.isStream() && x.streamGetDict()->lookup("Subtype").isName("Form")) {
                    streams.push_back(std::move(x));
                }
            }
        }
    }
    // Most pages are settled without decoding anything: one filter inflates at most ~3000 times.
    uint64_t bound = 0;
    for (Object &st : streams) {
        bound = std::min<uint64_t>(UINT64_MAX / 2, bound + decoded_bound(st));
    }
    uint64_t total = 0;
    if (bound > limit) {
        for (size_t i = 0; i < streams.size() && total <= limit; ++i) {
            total += decoded_size(streams[i], limit - total);
        }
    }
    if (resources) {
        Object fonts = resources->lookup("Font");
        if (fonts.isDict()) {
            for (int i = 0; i < fonts.dictGetLength(); ++i) {
                const Object &ref = fonts.dictGetValNF(i);
                if (ref.isRef() && !pdf->checked_fonts.insert({ ref.getRefNum(), ref.getRefGen() }).second) {
                    continue;
                }
                Object font = fonts.dictGetVal(i);
                if (!font.isDict()) {
                    continue;
                }
                Object tu = font.dictLookup("ToUnicode");
                uint64_t max_code = font.dictLookup("Subtype").isName("Type0") ? 0xffff : 0xff;
                if (tounicode_codes(tu, MAX_TOUNICODE_CODES, max_code) > MAX_TOUNICODE_CODES) {
                    refuse(budget, REFUSED_TOUNICODE);
                    return CLERK_REFUSED;
                }
            }
        }
    }
    if (total > limit) {
        refuse(budget, REFUSED_CONTENT);
        return CLERK_REFUSED;
    }
    return CLERK_OK;
}

static void append_text(void *stream, const char *text, int len) {
    static_cast<std::string *>(stream)->append(text, (size_t)len);
}

static char *copy_out(const std::string &s, size_t *len) {
    char *out = static_cast<char *>(malloc(s.size() + 1));
    if (!out) {
        return nullptr;
    }
    memcpy(out, s.data(), s.size());
    out[s.size()] = 0;
    *len = s.size();
    return out;
}

// The page's words with their boxes in points (top-left origin), in the order `pdftotext
// -bbox-layout` lists them (flows, blocks, lines, words). Each word is written as four native
// doubles (xMin, yMin, xMax, yMax), a native uint32 length and that many bytes of UTF-8.
static std::string word_boxes(const TextOutputDev &dev) {
    std::string out;
    for (const TextFlow *flow = dev.getFlows(); flow; flow = flow->getNext()) {
        for (const TextBlock *blk = flow->getBlocks(); blk; blk = blk->getNext()) {
            for (const TextLine *line = blk->getLines(); line; line = line->getNext()) {
                for (const TextWord *word = line->getWords(); word; word = word->getNext()) {
                    double box[4];
                    word->getBBox(&box[0], &box[1], &box[2], &box[3]);
                    std::unique_ptr<GooString> text(word->getText());
                    uint32_t len = (uint32_t)text->getLength();
                    out.append(reinterpret_cast<const char *>(box), sizeof box);
                    out.append(reinterpret_cast<const char *>(&len), sizeof len);
                    out.append(text->c_str(), len);
                }
            }
        }
    }
    return out;
}

// One page's text as `pdftotext -layout` writes it (physical layout, 72 dpi, media box, no crop),
// without the form feed that ends each page, and its words' boxes (see word_boxes). Both results
// are malloc'd: free them with clerk_free.
extern "C" int clerk_pdf_page_text(clerk_pdf *pdf, int page, clerk_budget *budget, char **out, size_t *len, char **words, size_t *words_len) {
    try {
        int checked = precheck_page(pdf, page, budget);
        if (checked != CLERK_OK) {
            return checked;
        }
        std::string text;
        ClerkText dev(budget, append_text, &text, true, 0, false, false);
        if (!dev.isOk()) {
            return CLERK_FAILED;
        }
        pdf->doc->displayPage(&dev, page, 72, 72, 0, true, false, false, abort_check, budget);
        if (budget->refused) {
            return CLERK_REFUSED;
        }
        if (!text.empty() && text.back() == '\f') {
            text.pop_back();
        }
        std::string boxes = word_boxes(dev);
        *out = copy_out(text, len);
        if (!*out) {
            return CLERK_NO_MEMORY;
        }
        *words = copy_out(boxes, words_len);
        if (!*words) {
            free(*out);
            *out = nullptr;
            return CLERK_NO_MEMORY;
        }
        return CLERK_OK;
    } catch (const std::bad_alloc &) {
        return CLERK_NO_MEMORY;
    } catch (...) {
        return CLERK_FAILED;
    }
}

// One page rendered to 8-bit gray at `dpi`, as `pdftoppm -gray -r DPI` renders it (anti-aliased
// text and vectors, white paper, /Rotate honoured). Rows are `*stride` bytes; free with clerk_free.
extern "C" int clerk_pdf_render_gray(clerk_pdf *pdf, int page, double dpi, clerk_budget *budget, unsigned char **out, int *w, int *h, int *stride) {
    try {
        SplashColor paper;
        paper[0] = 0xff;
        ClerkSplash dev(budget, paper);
        dev.setFontAntialias(true);
        dev.setVectorAntialias(true);
        dev.startDoc(pdf->doc.get());
        pdf->doc->displayPageSlice(&dev, page, dpi, dpi, 0, true, false, false, -1, -1, -1, -1, abort_check, budget);
        if (budget->refused) {
            return CLERK_REFUSED;
        }
        SplashBitmap *bitmap = dev.getBitmap();
        if (!bitmap || bitmap->getWidth() <= 0 || bitmap->getHeight() <= 0) {
            return CLERK_FAILED;
        }
        *w = bitmap->getWidth();
        *h = bitmap->getHeight();
        *stride = bitmap->getRowSize();
        size_t size = (size_t)*stride * (size_t)*h;
        *out = static_cast<unsigned char *>(malloc(size));
        if (!*out) {
            return CLERK_NO_MEMORY;
        }
        memcpy(*out, bitmap->getDataPtr(), size);
        return CLERK_OK;
    } catch (const std::bad_alloc &) {
        return CLERK_NO_MEMORY;
    } catch (...) {
        return CLERK_FAILED;
    }
}

// One embedded file appended to `out`: [u32 name][name][u32 relationship][relationship]
// [u64 size][data]; a file over `max_bytes` decoded gets size UINT64_MAX and no data.
// Whether the first bytes of a file could start an XML document: a byte order mark, or `<`
// after whitespace. Only such attachments are read to their end.
static bool may_be_xml(const unsigned char *b, int n) {
    if (n >= 2 && ((b[0] == 0xff && b[1] == 0xfe) || (b[0] == 0xfe && b[1] == 0xff))) {
        return true;
    }
    int i = (n >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf) ? 3 : 0;
    while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n')) {
        i++;
    }
    return i < n && b[i] == '<';
}

// One attachment into `out`: its name, relationship and content. The content is left out (size
// 0) when it does not start like XML, and marked too large (size UINT64_MAX) past `max_bytes`
// or past what is left of `budget`, the bytes all attachments of one PDF may decode to: a PDF
// of many large or highly compressed attachments costs a bounded amount of work.
static void put_attachment(std::string &out, const std::string &name, const std::string &rel, EmbFile *emb, uint64_t max_bytes,
                           uint64_t &budget) {
    auto put32 = [&](uint32_t v) { out.append(reinterpret_cast<const char *>(&v), 4); };
    auto put64 = [&](uint64_t v) { out.append(reinterpret_cast<const char *>(&v), 8); };
    put32((uint32_t)name.size());
    out += name;
    put32((uint32_t)rel.size());
    out += rel;
    std::string data;
    Stream *str = emb && emb->isOk() ? emb->stream() : nullptr;
    bool too_large = false;
    if (str) {
        str->reset();
        unsigned char buf[65536];
        const uint64_t limit = std::min(max_bytes, budget);
        int n;
        bool first = true;
        while ((n = str->doGetChars(sizeof buf, buf)) > 0) {
            if (first && !may_be_xml(buf, n)) {
                break;
            }
            first = false;
            if (data.size() + (uint64_t)n > limit) {
                too_large = true;
                break;
            }
            data.append(reinterpret_cast<const char *>(buf), (size_t)n);
        }
        str->close();
        budget -= std::min(budget, (uint64_t)data.size());
    }
    put64(too_large ? UINT64_MAX : (uint64_t)data.size());
    if (!too_large) {
        out += data;
    }
}

// The document's embedded files: those of the catalog's /AF array (Factur-X, ZUGFeRD 2, PDF/A-3
// associated files, with their /AFRelationship) and those of the EmbeddedFiles name tree, each
// once, at most `max_files`, each read up to `max_bytes` decoded and all up to `max_total`.
extern "C" int clerk_pdf_attachments(clerk_pdf *pdf, uint64_t max_bytes, uint64_t max_total, int max_files, char **out, size_t *len) {
    try {
        uint64_t budget = max_total;
        std::string buf;
        std::set<std::string> seen;
        int count = 0;
        Object catalog = pdf->doc->getXRef()->getCatalog();
        if (catalog.isDict()) {
            Object af = catalog.dictLookup("AF");
            for (int i = 0; af.isArray() && i < af.arrayGetLength() && count < max_files; i++) {
                Object spec = af.arrayGet(i);
                if (!spec.isDict()) {
                    continue;
                }
                Object rel = spec.dictLookup("AFRelationship");
                FileSpec fs(&spec);
                if (!fs.isOk() || !fs.getFileName()) {
                    continue;
                }
                const std::string name = fs.getFileName()->toStr();
                if (!seen.insert(name).second) {
                    continue;
                }
                put_attachment(buf, name, rel.isName() ? rel.getName() : "", fs.getEmbeddedFile(), max_bytes, budget);
                count++;
            }
        }
        Catalog *cat = pdf->doc->getCatalog();
        int n = cat && cat->isOk() ? cat->numEmbeddedFiles() : 0;
        for (int i = 0; i < n && count < max_files; i++) {
            std::unique_ptr<FileSpec> fs = cat->embeddedFile(i);
            if (!fs || !fs->isOk() || !fs->getFileName()) {
                continue;
            }
            const std::string name = fs->getFileName()->toStr();
            if (!seen.insert(name).second) {
                continue;
            }
            put_attachment(buf, name, "", fs->getEmbeddedFile(), max_bytes, budget);
            count++;
        }
        *out = copy_out(buf, len);
        return *out ? CLERK_OK : CLERK_NO_MEMORY;
    } catch (const std::bad_alloc &) {
        return CLERK_NO_MEMORY;
    } catch (...) {
        return CLERK_FAILED;
    }
}

extern "C" void clerk_free(void *p) {
    free(p);
}

