/*
 * A command handler in C: the bootstrap runs it once per invocation with the event JSON on
 * stdin. What it writes to stdout is the response; each line on stderr goes to the logs.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads all of `in` into a NUL-terminated buffer; NULL on a read error or when memory runs out. */
static char *read_all(FILE *in, size_t *length) {
    size_t capacity = 4096;
    size_t used = 0;
    char *buffer = malloc(capacity);
    if (buffer == NULL) return NULL;
    for (;;) {
        if (capacity - used < 2) {
            char *bigger = realloc(buffer, capacity * 2);
            if (bigger == NULL) {
                free(buffer);
                return NULL;
            }
            buffer = bigger;
            capacity *= 2;
        }
        size_t got = fread(buffer + used, 1, capacity - used - 1, in);
        used += got;
        if (got == 0) break;
    }
    if (ferror(in)) {
        free(buffer);
        return NULL;
    }
    buffer[used] = '\0';
    *length = used;
    return buffer;
}

/* Writes `text` as a JSON string: quotes, backslashes and control characters escaped. */
static void write_json_string(FILE *out, const char *text) {
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)text; *c != '\0'; c++) {
        if (*c == '"' || *c == '\\') {
            fputc('\\', out);
            fputc(*c, out);
        } else if (*c < 0x20) {
            fprintf(out, "\\u%04x", *c);
        } else {
            fputc(*c, out);
        }
    }
    fputc('"', out);
}

/* Whether `text` holds something other than white space (an empty event is not JSON). */
static int has_content(const char *text) {
    for (const unsigned char *c = (const unsigned char *)text; *c != '\0'; c++) {
        if (!isspace(*c)) return 1;
    }
    return 0;
}

int main(void) {
    size_t length = 0;
    char *event = read_all(stdin, &length);
    if (event == NULL) {
        fputs("hello: could not read the event from stdin\n", stderr);
        return 1;
    }
    const char *request_id = getenv("AWS_LAMBDA_REQUEST_ID");
    fprintf(stderr, "hello: request %s, %zu bytes of event\n", request_id != NULL ? request_id : "(none)", length);

    fputs("{\"handler\":\"hello\",\"message\":\"Hello from C\",\"requestId\":", stdout);
    write_json_string(stdout, request_id != NULL ? request_id : "");
    /* The event is JSON already, so it is embedded as it is. */
    printf(",\"eventBytes\":%zu,\"event\":%s}\n", length, has_content(event) ? event : "null");
    free(event);
    /* A response cut short must fail the invocation rather than pass as a success. */
    return fflush(stdout) == 0 ? 0 : 1;
}
