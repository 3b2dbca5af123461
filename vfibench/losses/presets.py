"""Paper presets: the loss weightings VFI papers trained with, written in the spec grammar.

Every weight is for frames in [0, 1]. Where a paper's weights were published for [0, 255]
pixels they are converted (L1-type terms × 255, squared feature terms × 255², flow terms in
pixels unchanged) and the notes say so. Weights that could not be read in the original code
are marked unverified, and the notes give the reason for the value chosen.
"""

from __future__ import annotations

from vfibench.losses.registry import register_preset

#: Unverified perceptual weights (timelens, adacof+) are chosen so that λ·perc equals the L1 term
#: on a reference degradation: a 5×5 box blur of four 256×256 scikit-image photographs gives
#: L1 ≈ 0.022 and conv4_3 MSE (raw [0, 1] input) ≈ 8.7, so λ = 0.022 / 8.7 ≈ 0.0025.
BALANCED_PERC_WEIGHT = 0.0025

register_preset(
    "flavr",
    "l1",
    source="FLAVR (Kalluri et al., WACV 2023): default loss '1*L1' in config.py, torch L1 in loss.py",
    notes="Frames in [0, 1] in FLAVR as here; no conversion.",
)

register_preset(
    "dain",
    "charbonnier(eps=1e-6)",
    source="DAIN (Bao et al., CVPR 2019): charbonier_loss in loss_function.py, --epsilon 1e-6 in my_args.py",
    notes="Frames in [0, 1] in DAIN as here; no conversion. DAIN's code also computes two flow regularisers "
          "but never adds them to the loss it optimises, so they are not part of this preset.",
)

register_preset(
    "bmbc",
    "ms-charbonnier + 0.003*smooth",
    source="BMBC (Park et al., ECCV 2020): loss from the paper; JunHeum/BMBC has no training code "
           "(issue #2: the motion network is trained by warping the inputs and comparing with the middle frame)",
    verified=False,
    notes="Unverified. Frames in [0, 1] (BMBC's code feeds [0, 1] frames), flows in pixels. ms-charbonnier "
          "follows the paper (α_l = 0.01·2^l, ε = 1e-6) on the fixed model's "
          "single motion output, downsampled per level. The smoothness weight 0.003 is a choice: it keeps "
          "Super SloMo's ratio of smoothness to warping weight (1 : 102) relative to the summed level "
          "weights Σα_l = 0.31 of five levels. Confirmed in JunHeum/BMBC: the motion network (model/BMNet.py) "
          "outputs 5 levels, and issue #2 confirms the warping supervision; the loss code itself is not "
          "published. BMBC's second stage (dynamic blending filters, trained with the final-frame loss) has "
          "no counterpart in the fixed model.",
)

register_preset(
    "superslomo",
    "204*l1 + 102*warp + 0.005*perc(layer=conv4_3,dist=mse,norm=superslomo) + smooth",
    source="Super SloMo re-implementation (avinashpaliwal/Super-SloMo train.py): "
           "204*recnLoss + 102*warpLoss + 0.005*prcpLoss + loss_smooth",
    notes="Frames in [0, 1] (the re-implementation's ToTensor frames, minus a mean). The re-implementation's "
          "comment: 204 and 102 are the paper's 0.8 and 0.4 times 255, because the "
          "paper used [0, 255] pixels. The perceptual weight 0.005 was not rescaled, so relative to the paper "
          "the perceptual term is about 255² ≈ 65,000× weaker (see superslomo-paper); on blurred frames it "
          "contributes about 1% of the L1 term. Its VGG input is the frame minus the Adobe-240fps mean "
          "[0.429, 0.431, 0.397] (the whole re-implementation works in that space).",
)

register_preset(
    "superslomo-paper",
    "204*l1 + 102*warp + 325.125*perc(layer=conv4_3,dist=mse,norm=superslomo) + smooth",
    source="Super SloMo (Jiang et al., CVPR 2018): λr = 0.8, λp = 0.005, λw = 0.4, λs = 1 for [0, 255] "
           "pixels, as quoted in the re-implementation's train.py comment",
    verified=False,
    notes="Paper weights converted to [0, 1] pixels: L1 terms × 255 (0.8 → 204, 0.4 → 102), the squared "
          "feature term × 255² (0.005 → 325.125), smoothness (flows in pixels) unchanged. The 255² factor is "
          "an approximation: VGG features scale exactly with the input only without biases. It also assumes "
          "that the paper's perceptual term is a mean squared feature difference (an unsquared ℓ2 norm scales "
          "by 255, which would give λp = 1.275) and that its VGG16 read [0, 255] pixels with these weights; "
          "λp is uncertain by up to that factor of 255. With 325.125 the perceptual term dominates (on blurred "
          "frames about 600× the L1 term). Paper text not read; the values come from the re-implementation's "
          "comment.",
)

register_preset(
    "timelens",
    f"l1 + {BALANCED_PERC_WEIGHT}*perc",
    source="Time Lens (Tulyakov et al., CVPR 2021): paper — each module trained with L1 plus a perceptual "
           "loss; uzh-rpg/rpg_timelens is inference-only (issue #45 asks for training code, unanswered)",
    verified=False,
    notes="Unverified: λ is not public. Frames in [0, 1]. λ = 0.0025 balances the perceptual term "
          "(VGG16 conv4_3, MSE, raw "
          "[0, 1] input) with L1 on a 5×5 box blur of natural photographs (L1 ≈ 0.022, perc ≈ 8.7). Time "
          "Lens's event-based modules have no counterpart; only the loss is reproduced.",
)

register_preset(
    "adacof",
    "charbonnier(eps=1e-3) + 0.01*flow-tv + 0.005*vis-tv",
    source="AdaCoF (Lee et al., CVPR 2020): default --loss '1*Charb+0.01*g_Spatial+0.005*g_Occlusion' "
           "(train.py; checkpoint/kernelsize_5/config.txt)",
    notes="Frames in [0, 1] in AdaCoF as here. g_Spatial regularises AdaCoF's per-pixel kernel offsets and "
          "g_Occlusion its occlusion map; here flow-tv acts on the intermediate flows Ft→0, Ft→1 and vis-tv "
          "on the visibility map. AdaCoF's offset TV is taken of the tap-averaged offsets (1/25 of the "
          "weighted-mean offset for its 5×5 kernels), so on true flows the same weight 0.01 regularises "
          "about 25× more strongly.",
)

register_preset(
    "adacof+",
    f"adacof + {BALANCED_PERC_WEIGHT}*perc(layer=conv4_3,dist=mse,norm=none) + 0.005*adv",
    source="AdaCoF+ (Lee et al., CVPR 2020): perceptual loss as in losses/vgg.py, dual-frame adversarial "
           "loss as in losses/adversarial.py (FI_GAN); their weights are not in the repository",
    verified=False,
    notes="Unverified weights; frames in [0, 1] as in AdaCoF. λ_vgg = 0.0025 balances the perceptual term "
          "with the Charbonnier term on a "
          "5×5 box blur of natural photographs; λ_adv = 0.005 is a starting point taken from ESRGAN (whose "
          "generator loss is its VGG loss + 0.005·adversarial + 0.01·L1), not a measured balance: AdaCoF's "
          "p·log p generator term has a smaller gradient than ESRGAN's relativistic one, so the same weight "
          "pulls less. Confirmed in the code: the perceptual term (losses/vgg.py: features[:22], "
          "MSE, raw [0, 1] input), the FI_GAN discriminator and its AdaMax optimiser (losses/adversarial.py, "
          "losses/discriminator.py). The adversarial term passes its gradient to the model (the released code "
          "detaches it, so there it trained nothing); see `vfibench losses adv`.",
)

register_preset(
    "film-l1",
    "l1",
    source="FILM (Reda et al., ECCV 2022): training/config/film_net-L1.gin (loss_names ['l1'], weight 1.0)",
    notes="Frames in [0, 1] in FILM as here.",
)

register_preset(
    "film-vgg",
    "l1 + vggfilm@:0.5 + 0.25*vggfilm@0.5",
    source="FILM (Reda et al., ECCV 2022): training/config/film_net-VGG.gin — l1 weight 1.0; vgg weight 1.0, "
           "0.25 after step 1,500,000 of 3,000,000 (PiecewiseConstantDecay)",
    notes="Frames in [0, 1] in FILM as here (its VGG loss scales them to 0–255 inside and divides by 255). "
          "FILM's step boundary 1.5M of 3M training steps is mapped to half of training. vggfilm runs on "
          "VGG16 instead of FILM's VGG19 (same-named layers).",
)

register_preset(
    "film-style",
    "l1 + vggfilm@:0.5 + 0.25*vggfilm@0.5 + 40*style@0.5",
    source="FILM (Reda et al., ECCV 2022): training/config/film_net-Style.gin — l1 1.0; vgg 1.0 then 0.25; "
           "style 0.0 then 40.0, switching at step 1,500,000 of 3,000,000",
    notes="Frames in [0, 1] in FILM as here. "
          "The boundary at 1.5M of 3M steps is mapped to half of training; the VGG weight also drops to 0.25 "
          "there (as in the gin file). vggfilm and style run on VGG16 instead of FILM's VGG19. With VGG16 "
          "the three terms stay of the same order as in FILM (on blurred frames: l1 ≈ 0.022, "
          "0.25·vggfilm ≈ 0.019, 40·style ≈ 0.016).",
)
