// Placeholder so that a stage library with no sources yet still links.
namespace chainmail {
int empty_translation_unit = 0;
}
