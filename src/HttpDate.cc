// HTTP-date formatting and parsing with plain calendar arithmetic: no strftime, no locale, no
// timezone database, so the output never depends on LC_TIME or TZ and the code stays pure.
#include "HttpDate.h"

#include <cstdint>

#include "HttpLexical.h"

namespace hs {
namespace {

// Every 4-digit year, and so every parsed date, fits.
static_assert(sizeof(time_t) >= sizeof(int64_t), "time_t must be 64-bit");

constexpr int64_t kSecsPerDay = 86400;
// Formatting needs a 4-digit year: times outside 0000-01-01 .. 9999-12-31 are clamped.
constexpr int64_t kMinFormattable = -62167219200;  // 0000-01-01T00:00:00Z
constexpr int64_t kMaxFormattable = 253402300799;  // 9999-12-31T23:59:59Z

constexpr const char* kDayNames[7] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr const char* kLongDayNames[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                          "Thursday", "Friday", "Saturday"};
constexpr const char* kMonthNames[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

struct CivilTime {
  int64_t year = 0;
  int month = 0;  // 1..12
  int day = 0;    // 1..31
  int hour = 0, minute = 0, second = 0;
  int weekday = -1;  // 0 = Sunday; -1 while the day name has not been read
};

// Floor division, so times before the epoch land on the right day.
int64_t floorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil): counting
// from March 1st puts the leap day at the end of the year, so month lengths follow a fixed pattern.
int64_t daysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = floorDiv(y, 400);
  const int64_t yoe = y - era * 400;                                    // [0, 399]
  const int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;  // [0, 365]
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            // [0, 146096]
  return era * 146097 + doe - 719468;
}

// The inverse of daysFromCivil.
void civilFromDays(int64_t z, CivilTime* c) {
  z += 719468;
  const int64_t era = floorDiv(z, 146097);
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  c->day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  c->month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  c->year = yoe + era * 400 + (c->month <= 2);
}

// 1970-01-01 was a Thursday.
int weekdayFromDays(int64_t days) { return static_cast<int>(days - floorDiv(days + 4, 7) * 7 + 4); }

bool isLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int daysInMonth(int64_t y, int m) {
  constexpr int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && isLeap(y) ? 29 : kDays[m - 1];
}

void put2(char* p, int v) {
  p[0] = static_cast<char>('0' + v / 10);
  p[1] = static_cast<char>('0' + v % 10);
}

void copy3(char* p, const char* s) {
  p[0] = s[0];
  p[1] = s[1];
  p[2] = s[2];
}

// A cursor over the input; every reader consumes on success and returns false otherwise.
struct Reader {
  std::string_view s;

  bool literal(std::string_view lit) {
    if (s.substr(0, lit.size()) != lit) return false;
    s.remove_prefix(lit.size());
    return true;
  }
  // Exactly n digits.
  bool digits(size_t n, int* out) {
    if (s.size() < n) return false;
    int v = 0;
    for (size_t i = 0; i < n; ++i) {
      if (!isDigit(static_cast<unsigned char>(s[i]))) return false;
      v = v * 10 + (s[i] - '0');
    }
    s.remove_prefix(n);
    *out = v;
    return true;
  }
  // One of `names`, case-sensitively as RFC 9110 spells them; *index gets its position.
  template <size_t N>
  bool name(const char* const (&names)[N], int* index) {
    for (size_t i = 0; i < N; ++i) {
      if (literal(names[i])) {
        *index = static_cast<int>(i);
        return true;
      }
    }
    return false;
  }
  bool month(int* m) {
    if (!name(kMonthNames, m)) return false;
    ++*m;
    return true;
  }
  // time-of-day = hour ":" minute ":" second
  bool timeOfDay(CivilTime* c) {
    return digits(2, &c->hour) && literal(":") && digits(2, &c->minute) && literal(":") &&
           digits(2, &c->second);
  }
};

// "Sun, 06 Nov 1994 08:49:37 GMT"
bool parseImfFixdate(Reader r, CivilTime* c) {
  int year = 0;
  bool ok = r.name(kDayNames, &c->weekday) && r.literal(", ") && r.digits(2, &c->day) &&
            r.literal(" ") && r.month(&c->month) && r.literal(" ") && r.digits(4, &year) &&
            r.literal(" ") && r.timeOfDay(c) && r.literal(" GMT") && r.s.empty();
  c->year = year;
  return ok;
}

// "Sunday, 06-Nov-94 08:49:37 GMT". A two-digit year below 70 means 20yy, otherwise 19yy: a fixed
// pivot keeps the parser free of the clock, and RFC 850 dates are not sent by anything current.
bool parseRfc850(Reader r, CivilTime* c) {
  int yy = 0;
  bool ok = r.name(kLongDayNames, &c->weekday) && r.literal(", ") && r.digits(2, &c->day) &&
            r.literal("-") && r.month(&c->month) && r.literal("-") && r.digits(2, &yy) &&
            r.literal(" ") && r.timeOfDay(c) && r.literal(" GMT") && r.s.empty();
  c->year = yy < 70 ? 2000 + yy : 1900 + yy;
  return ok;
}

// "Sun Nov  6 08:49:37 1994": the day is two digits or a space and one digit.
bool parseAsctime(Reader r, CivilTime* c) {
  int year = 0;
  if (!(r.name(kDayNames, &c->weekday) && r.literal(" ") && r.month(&c->month) && r.literal(" "))) {
    return false;
  }
  if (!(r.literal(" ") ? r.digits(1, &c->day) : r.digits(2, &c->day))) return false;
  bool ok = r.literal(" ") && r.timeOfDay(c) && r.literal(" ") && r.digits(4, &year) && r.s.empty();
  c->year = year;
  return ok;
}

// Range checks, including the day name against the date: a mismatch means a broken sender, and an
// ignored validator only costs a full response. Second 60 (a leap second) is accepted and, like
// timegm(), counts as the first second of the next minute; only at the very end of 9999 would that
// leave the formattable range, and such a date is rejected so that every parsed time formats back.
bool toTime(const CivilTime& c, time_t* out) {
  if (c.month < 1 || c.month > 12 || c.day < 1 || c.day > daysInMonth(c.year, c.month) ||
      c.hour > 23 || c.minute > 59 || c.second > 60) {
    return false;
  }
  const int64_t days = daysFromCivil(c.year, c.month, c.day);
  if (weekdayFromDays(days) != c.weekday) return false;
  const int64_t t = days * kSecsPerDay + c.hour * 3600 + c.minute * 60 + c.second;
  if (t > kMaxFormattable) return false;
  *out = static_cast<time_t>(t);
  return true;
}

}  // namespace

void formatHttpDate(time_t t, char* out) {
  int64_t secs = static_cast<int64_t>(t);
  if (secs < kMinFormattable) secs = kMinFormattable;
  if (secs > kMaxFormattable) secs = kMaxFormattable;
  const int64_t days = floorDiv(secs, kSecsPerDay);
  const int sod = static_cast<int>(secs - days * kSecsPerDay);
  CivilTime c;
  civilFromDays(days, &c);
  const int year = static_cast<int>(c.year);  // 0..9999 after the clamp
  copy3(out, kDayNames[weekdayFromDays(days)]);
  out[3] = ',';
  out[4] = ' ';
  put2(out + 5, c.day);
  out[7] = ' ';
  copy3(out + 8, kMonthNames[c.month - 1]);
  out[11] = ' ';
  put2(out + 12, year / 100);
  put2(out + 14, year % 100);
  out[16] = ' ';
  put2(out + 17, sod / 3600);
  out[19] = ':';
  put2(out + 20, sod / 60 % 60);
  out[22] = ':';
  put2(out + 23, sod % 60);
  copy3(out + 25, " GM");
  out[28] = 'T';
}

bool parseHttpDate(std::string_view s, time_t* out) {
  if (s.size() < 4) return false;
  // The formats are told apart by the character after the (short) day name.
  CivilTime c;
  bool ok = false;
  if (s[3] == ',') {
    ok = parseImfFixdate(Reader{s}, &c);
  } else if (s[3] == ' ') {
    ok = parseAsctime(Reader{s}, &c);
  } else {
    ok = parseRfc850(Reader{s}, &c);
  }
  return ok && toTime(c, out);
}

}  // namespace hs
