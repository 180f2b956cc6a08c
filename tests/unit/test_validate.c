/* Unit tests of the single-value checks: calendar dates, subject codes,
 * free text, and integer parsing. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "validate.h"

static bool date_ok(const char *s)
{
	return valid_date(s, strlen(s));
}

START_TEST(test_real_dates_pass)
{
	ck_assert(date_ok("1985-03-01"));
	ck_assert(date_ok("2024-02-29"));
	ck_assert(date_ok("2000-02-29"));
	ck_assert(date_ok("1900-01-01"));
	ck_assert(date_ok("1999-12-31"));
	ck_assert(date_ok("9999-12-31"));
}
END_TEST

START_TEST(test_impossible_dates_fail)
{
	ck_assert(!date_ok("2023-02-30"));
	ck_assert(!date_ok("2023-02-29"));
	ck_assert(!date_ok("1900-02-29")); /* not a leap year */
	ck_assert(!date_ok("2023-04-31"));
	ck_assert(!date_ok("2023-13-01"));
	ck_assert(!date_ok("2023-00-10"));
	ck_assert(!date_ok("2023-01-00"));
	ck_assert(!date_ok("2023-01-32"));
	ck_assert(!date_ok("1899-12-31"));
}
END_TEST

START_TEST(test_malformed_dates_fail)
{
	ck_assert(!date_ok(""));
	ck_assert(!date_ok("1985-3-01"));
	ck_assert(!date_ok("1985-03-1"));
	ck_assert(!date_ok("85-03-01"));
	ck_assert(!date_ok("1985/03/01"));
	ck_assert(!date_ok("1985-03-01T00:00:00Z"));
	ck_assert(!date_ok(" 1985-03-01"));
	ck_assert(!date_ok("198a-03-01"));
	ck_assert(!valid_date("1985-03-01", 9));
	ck_assert(!valid_date("1985-03\0001", 10));
}
END_TEST

START_TEST(test_subject_codes_are_1_to_64_of_letters_digits_dot_underscore_dash)
{
	ck_assert(valid_code("P-001", 5));
	ck_assert(valid_code("a.b_c-D9", 8));
	char long_code[66];
	memset(long_code, 'x', sizeof long_code);
	ck_assert(valid_code(long_code, 64));
	ck_assert(!valid_code(long_code, 65));
	ck_assert(!valid_code("", 0));
	ck_assert(!valid_code("P 001", 5));
	ck_assert(!valid_code("P/001", 5));
	ck_assert(!valid_code("Jöhn", strlen("Jöhn")));
	ck_assert(!valid_code("a\0b", 3));
	ck_assert(!valid_code("x');--", 6));
}
END_TEST

START_TEST(test_text_counts_code_points)
{
	size_t chars = 0;
	ck_assert(valid_text("Hypotension", 11, &chars));
	ck_assert_uint_eq(chars, 11);
	ck_assert(valid_text("é", 2, &chars));
	ck_assert_uint_eq(chars, 1);
	ck_assert(valid_text("€ 𝄞", strlen("€ 𝄞"), &chars));
	ck_assert_uint_eq(chars, 3);
}
END_TEST

START_TEST(test_text_refuses_control_and_blank)
{
	size_t chars;
	ck_assert(!valid_text("", 0, &chars));
	ck_assert(!valid_text("   ", 3, &chars));
	ck_assert(!valid_text("a\nb", 3, &chars));
	ck_assert(!valid_text("a\tb", 3, &chars));
	ck_assert(!valid_text("a\0b", 3, &chars));
	ck_assert(!valid_text("a\x7f", 2, &chars));
	ck_assert(!valid_text("a\xc2\x85", 3, &chars)); /* U+0085 NEL */
}
END_TEST

START_TEST(test_text_refuses_bad_utf8)
{
	size_t chars;
	ck_assert(!valid_text("\xff", 1, &chars));
	ck_assert(!valid_text("\xc3", 1, &chars));             /* truncated */
	ck_assert(!valid_text("\xc0\xaf", 2, &chars));         /* overlong '/' */
	ck_assert(!valid_text("\xed\xa0\x80", 3, &chars));     /* surrogate */
	ck_assert(!valid_text("\xf4\x90\x80\x80", 4, &chars)); /* past U+10FFFF */
}
END_TEST

START_TEST(test_a_choice_matches_only_exactly)
{
	static const char *const sexes[] = {"female", "male", NULL};
	ck_assert(in_choices("male", sexes));
	ck_assert(!in_choices("Male", sexes));
	ck_assert(!in_choices("", sexes));
}
END_TEST

START_TEST(test_integers_parse_whole_without_overflow_sign_or_leading_zeros)
{
	int64_t v;
	ck_assert(parse_int64("0", &v) && v == 0);
	ck_assert(parse_int64("42", &v) && v == 42);
	ck_assert(parse_int64("-7", &v) && v == -7);
	ck_assert(parse_int64("9223372036854775807", &v) && v == INT64_MAX);
	ck_assert(!parse_int64("9223372036854775808", &v));
	ck_assert(!parse_int64("", &v));
	ck_assert(!parse_int64("-", &v));
	ck_assert(!parse_int64("01", &v));
	ck_assert(!parse_int64("1e3", &v));
	ck_assert(!parse_int64(" 1", &v));
	ck_assert(!parse_int64("+1", &v));
}
END_TEST

Suite *suite(void)
{
	Suite *s = suite_create("validate");
	TCase *tc = tcase_create("validate");
	tcase_add_test(tc, test_real_dates_pass);
	tcase_add_test(tc, test_impossible_dates_fail);
	tcase_add_test(tc, test_malformed_dates_fail);
	tcase_add_test(tc, test_subject_codes_are_1_to_64_of_letters_digits_dot_underscore_dash);
	tcase_add_test(tc, test_text_counts_code_points);
	tcase_add_test(tc, test_text_refuses_control_and_blank);
	tcase_add_test(tc, test_text_refuses_bad_utf8);
	tcase_add_test(tc, test_a_choice_matches_only_exactly);
	tcase_add_test(tc, test_integers_parse_whole_without_overflow_sign_or_leading_zeros);
	suite_add_tcase(s, tc);
	return s;
}
