/* HTTP dates for `serve`'s protocol layer (RFC 9110 5.6.7): IMF-fixdate out, the three historic forms
 * in. Our own calendar arithmetic: no locale, no time zone files, no system calls under seccomp. */
#include "http.h"

#include <string.h>

static const char day_names[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const long_day_names[7] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                              "Thursday", "Friday", "Saturday"};
static const char month_names[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's algorithms). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
        y -= m <= 2;
        int64_t era = (y >= 0 ? y : y - 399) / 400;
        unsigned yoe = (unsigned)(y - era * 400);
        unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
        unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
        z += 719468;
        int64_t era = (z >= 0 ? z : z - 146096) / 146097;
        unsigned doe = (unsigned)(z - era * 146097);
        unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        unsigned mp = (5 * doy + 2) / 153;
        *d = doy - (153 * mp + 2) / 5 + 1;
        *m = mp < 10 ? mp + 3 : mp - 9;
        *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static void two_digits(char *p, unsigned v)
{
        p[0] = (char)('0' + v / 10 % 10);
        p[1] = (char)('0' + v % 10);
}

size_t http_date_format(time_t t, char out[HTTP_DATE_LEN + 1])
{
        int64_t days = (int64_t)t / 86400, secs = (int64_t)t % 86400;
        if (secs < 0) {
                secs += 86400;
                days--;
        }
        int64_t year;
        unsigned month, day;
        civil_from_days(days, &year, &month, &day);
        /* The format has four year digits; clamp what it cannot show. */
        if (year < 0)
                year = 0;
        if (year > 9999)
                year = 9999;
        int weekday = (int)(((days % 7) + 11) % 7); /* 1970-01-01 was a Thursday */
        memcpy(out, day_names[weekday], 3);
        memcpy(out + 3, ", ", 2);
        two_digits(out + 5, day);
        out[7] = ' ';
        memcpy(out + 8, month_names[month - 1], 3);
        out[11] = ' ';
        two_digits(out + 12, (unsigned)(year / 100));
        two_digits(out + 14, (unsigned)(year % 100));
        out[16] = ' ';
        two_digits(out + 17, (unsigned)(secs / 3600));
        out[19] = ':';
        two_digits(out + 20, (unsigned)(secs / 60 % 60));
        out[22] = ':';
        two_digits(out + 23, (unsigned)(secs % 60));
        memcpy(out + 25, " GMT", 5); /* with the NUL */
        return HTTP_DATE_LEN;
}

static bool digits(const char *s, size_t n, unsigned *value)
{
        unsigned v = 0;
        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (unsigned)(s[i] - '0');
        }
        *value = v;
        return true;
}

static int month_index(const char *s)
{
        for (int i = 0; i < 12; i++)
                if (memcmp(s, month_names[i], 3) == 0)
                        return i;
        return -1;
}

static bool short_day(const char *s)
{
        for (int i = 0; i < 7; i++)
                if (memcmp(s, day_names[i], 3) == 0)
                        return true;
        return false;
}

/* "HH:MM:SS" */
static bool parse_time(const char *s, unsigned *h, unsigned *m, unsigned *sec)
{
        return digits(s, 2, h) && s[2] == ':' && digits(s + 3, 2, m) && s[5] == ':' &&
               digits(s + 6, 2, sec) && *h < 24 && *m < 60 && *sec <= 60;
}

static int finish(int64_t year, int month, unsigned day, unsigned h, unsigned m, unsigned s, time_t *t)
{
        static const unsigned char month_days[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        if (month < 0 || day < 1 || day > month_days[month])
                return -1;
        bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        if (month == 1 && day == 29 && !leap)
                return -1;
        if (s == 60)
                s = 59; /* a leap second: POSIX time cannot name it */
        *t = (time_t)(days_from_civil(year, (unsigned)month + 1, day) * 86400 + h * 3600 + m * 60 + s);
        return 0;
}

int http_date_parse(const char *s, size_t len, time_t *t)
{
        unsigned day, year, h, m, sec;

        /* IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT" */
        if (len == HTTP_DATE_LEN && short_day(s) && s[3] == ',' && s[4] == ' ' && digits(s + 5, 2, &day) &&
            s[7] == ' ' && s[11] == ' ' && digits(s + 12, 4, &year) && s[16] == ' ' &&
            parse_time(s + 17, &h, &m, &sec) && memcmp(s + 25, " GMT", 4) == 0)
                return finish(year, month_index(s + 8), day, h, m, sec, t);

        /* asctime: "Sun Nov  6 08:49:37 1994" */
        if (len == 24 && short_day(s) && s[3] == ' ' && s[7] == ' ' && s[10] == ' ' && s[19] == ' ' &&
            digits(s + 20, 4, &year) && parse_time(s + 11, &h, &m, &sec)) {
                if (s[8] == ' ' ? !digits(s + 9, 1, &day) : !digits(s + 8, 2, &day))
                        return -1;
                return finish(year, month_index(s + 4), day, h, m, sec, t);
        }

        /* RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT" */
        for (int i = 0; i < 7; i++) {
                size_t n = strlen(long_day_names[i]);
                if (len != n + 24 || memcmp(s, long_day_names[i], n) != 0)
                        continue;
                const char *p = s + n;
                if (p[0] != ',' || p[1] != ' ' || !digits(p + 2, 2, &day) || p[4] != '-' || p[8] != '-' ||
                    !digits(p + 9, 2, &year) || p[11] != ' ' || !parse_time(p + 12, &h, &m, &sec) ||
                    memcmp(p + 20, " GMT", 4) != 0)
                        return -1;
                /* Two-digit years: a fixed pivot instead of "50 years from now", so the result does
                 * not depend on the clock; 70..99 are 19xx, 00..69 are 20xx. */
                year += year >= 70 ? 1900 : 2000;
                return finish(year, month_index(p + 5), day, h, m, sec, t);
        }
        return -1;
}
