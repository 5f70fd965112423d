// emoji.json of the emoji-datasource npm packages read once for the emoji sources (data/emoji,
// data/emoji-captions): which image files draw which emoji in which style, each emoji's category,
// and the words emoji.json gives it (name, short names, subcategory). The held-out split is by
// emoji: emoji i of the file (ordered by code point) is a test emoji when i % test_every == 0.
#pragma once

#include <ganglion/plugin.h>

#include <cstdint>
#include <string>
#include <vector>

#include "images/image_decode.h"

namespace ganglion::data {

/// `text` cut at each `separator`, each piece without its leading and trailing spaces; empty
/// pieces are kept (a caller that refuses them can say which).
std::vector<std::string> split_trimmed(const std::string& text, char separator);

/// The params that choose emoji, shared by the emoji sources (folder, styles, categories,
/// skin_tones, split, test_every), appended to `c`.
Contract& emoji_selection_params(Contract& c);
/// The params that say how the emoji's images are made (background, size, channels) and read
/// (batch, limit, shuffle, drop_last, threads), appended to `c`.
Contract& emoji_image_params(Contract& c);

struct EmojiIndex {
  /// What one emoji.json entry says of its emoji.
  struct Emoji {
    std::string name;                      ///< "SMILING FACE WITH HEART-SHAPED EYES"
    std::vector<std::string> short_names;  ///< "heart_eyes"
    std::string category, subcategory;     ///< "Smileys & Emotion", "face-affection"
    int64_t label = -1;                    ///< place in `categories`; -1 where not chosen
    bool test = false;                     ///< on the held-out side of the split
  };
  struct Image {
    std::string file;
    int64_t label, style, emoji;  ///< category, place in the styles param, entry of emoji.json
  };
  std::vector<std::string> categories;  ///< the categories chosen, in label order
  std::vector<Emoji> emoji;             ///< every entry of emoji.json, in its order
  std::vector<Image> images;            ///< the images of the split asked for (param split)
  int64_t test_every = 10;              ///< param test_every, which decides Emoji::test

  /// Reads FOLDER/emoji.json for the params of emoji_selection_params(); throws
  /// std::invalid_argument naming the file and the entry for a damaged index or a missing image.
  static EmojiIndex read(const Params& params);
};

/// Decodes an emoji's image into `out` (C x size x size in [-1, 1]): alpha composited onto
/// `background`, then resized from 64.
void decode_emoji(const std::string& file, const images::Colour& background, int64_t size, int64_t channels,
                  torch::Tensor out);

}  // namespace ganglion::data
